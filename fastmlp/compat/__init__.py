"""Drop-ins for teaching code that students already run, computed by fastmlp.

``fastmlp.compat.nielsen`` has the surface of ``network.py`` and ``fastmlp.compat.nielsen2``
that of ``network2.py``, from Michael Nielsen's book "Neural Networks and Deep Learning":
swap the import, keep the script, get the same numbers faster. Import them by their
module path; ``import fastmlp`` does not load them.
"""
