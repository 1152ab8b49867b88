"""One module per method; each registers exactly one model with ``zoo.registry.register``.

Modules are imported by :func:`zoo.registry.registered`, not here, so importing one model
does not import all of them.
"""
