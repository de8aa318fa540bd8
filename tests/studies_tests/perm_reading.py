"""This area's rows of the permission matrix (tests/ovarian_web_tests/test_permissions.py).

MATRIX: route name -> (method, roles allowed, kwargs key or a function of the objects).
objects(base): the objects this area's rows need, made from the shared ones in `base`.
"""

MATRIX = {}


def objects(base: dict) -> dict:
    return {}
