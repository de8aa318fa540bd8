"""The Django-free machine-learning core: networks, inputs, augmentation, training and CAMs.

Nothing here imports Django or the rest of the project, so every layer may use it and it is
unit-tested without a database.
"""
