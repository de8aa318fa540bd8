"""This area's rows of the permission matrix (tests/ovarian_web_tests/test_permissions.py).

MATRIX: route name -> (method, roles allowed, kwargs key or a function of the objects).
objects(base): the objects this area's rows need, made from the shared ones in `base`.
"""

from base.roles import Role
from studies.reading.imported import reader_study_import

CO, A = Role.COORDINATOR, Role.ADMINISTRATOR
COORDINATION = (CO, A)


def _download(what):
    return lambda o: {"pk": o["imported_study"].pk, "what": what}


MATRIX = {
    "studies:imported_list": ("get", COORDINATION, None),
    "studies:imported_results": ("get", COORDINATION, "imported_study"),
    "studies:imported_results_download": ("get", COORDINATION, _download("table")),
    # The designed study is perm_reading's.
    "studies:designed_results": ("get", COORDINATION, "reader_study"),
    "studies:designed_results_download": (
        "get",
        COORDINATION,
        lambda o: {"pk": o["reader_study"].pk, "what": "table"},
    ),
    "studies:planning": ("get", COORDINATION, None),
    "imported-study-list": ("get", COORDINATION, None),
    "imported-study-results": ("get", COORDINATION, "imported_study"),
    "imported-study-results-table": ("get", COORDINATION, "imported_study"),
    "imported-study-readings": ("get", COORDINATION, "imported_study"),
    "designed-study-results": ("get", COORDINATION, "reader_study"),
    "designed-study-results-table": ("get", COORDINATION, "reader_study"),
    "designed-study-readings": ("get", COORDINATION, "reader_study"),
}


def _readings_csv() -> bytes:
    lines = ["reader,case,modality,truth,rating,decision,seconds"]
    for modality in ("without AI", "with AI"):
        for reader in ("r1", "r2"):
            for case in range(6):
                truth = int(case < 3)
                rating = 20 + 10 * case * (1 - 2 * truth) + 50 * truth + (modality == "with AI")
                decision = int(rating > 50)
                lines.append(f"{reader},c{case},{modality},{truth},{rating},{decision},{10 + case}")
    return ("\n".join(lines) + "\n").encode()


def objects(base: dict) -> dict:
    study = reader_study_import(name="permission study", data=_readings_csv())
    return {"imported_study": study}
