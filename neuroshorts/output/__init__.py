"""What one render writes and how: `bundle` names the files (video, sidecars, thumbnail,
notebook, manifest), `encode` streams a short's frames into ffmpeg and writes the video,
`framepipe` lends ffmpeg the frames, `memory` keeps malloc from giving back what a render
uses again, `manifest` records what was made, `files` writes every file whole or not at all,
`progress` and `timing` report how far a render is and where its time went, `cores`
shares the machine's cores among renders side by side."""
