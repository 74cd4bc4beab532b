"""Media a template names, from anywhere: local paths, bundled media and cloud URLs.

`assets.resolve` turns a reference into a local file; `policy` decides what may be
fetched, `guard` enforces it on HTTP connections, `fetch` downloads through fsspec,
`content` checks what arrived, `stock` turns a keyword search into a media URL, `cache`
keeps what was fetched on disk for every worker on the machine, and `storage` publishes
finished videos to a bucket.
"""
