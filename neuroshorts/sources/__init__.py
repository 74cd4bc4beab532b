"""Where asset references are fetched from: the pieces behind `neuroshorts.assets.resolve`.

`policy` decides what may be fetched, `guard` enforces it on HTTP connections, `fetch`
downloads through fsspec, `content` checks what arrived, and `stock` turns a keyword
search into a media URL; `neuroshorts.cache` keeps what was fetched on disk for every
worker on the machine.
"""
