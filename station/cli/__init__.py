"""The command line (`trapd`): one module per command group; ``main`` holds the root group and the station's
own commands.

The only layer that prints or chooses exit codes. Each module is a thin click layer over a library module.
"""
