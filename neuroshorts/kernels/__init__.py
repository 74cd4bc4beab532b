"""The Jupyter kernels template runs execute in: started ahead of the run (`prestart`),
forked from a server with the engine imported in a process that runs many
(`forkserver`), at background CPU priority in the service (`priority`), launched and
stopped for jupyter_client (`provisioning`), and checked for being alive, zombies apart
(`processes`).

A package of its own, apart from `templates`, so that `neuroshorts render` can launch its
kernel before it imports anything a run needs (papermill, nbformat, the parameter
checks): importing this package costs what jupyter_client costs, ~0.2 s.
"""
