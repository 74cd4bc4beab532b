"""glibc's malloc told to keep the memory it frees, in the processes of a render.

A render allocates big buffers over and over: ffmpeg a packet for every raw frame, the
kernel a soundtrack's worth of samples for each step of the mix. With glibc's defaults a
freed block over 128 KB, or the heap's freed top, goes back to the OS, and the next one
comes back as page faults, a zeroed 4 KB page at a time. ffmpeg fed by the compositor
faulted ~210,000 pages for the template's 25 s short, ~30,000 so (0.4 core-seconds of
the OS's time); a fresh kernel's first mix of it 25,000, 11,000 so (0.07-0.16 s sooner).
Peak RSS is unchanged: the memory kept is memory used again. Other C libraries ignore
these variables (docs/decisions/compositor.md).
"""

#: mallopt(3)'s environment variables: nothing trimmed under 1 GB, blocks up to 32 MB
#: (glibc's most) from the heap rather than mapped and unmapped each time.
KEEP_FREED = {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}
