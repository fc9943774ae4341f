from bot.query.closest import closest

NAMES = ["R59", "R9", "R60", "DWH_GROUP", "LAKE_GROUP", "Default Release"]


def test_close_names_are_suggested() -> None:
    assert closest(["R599"], NAMES)[0] == "R59"
    assert closest(["DWH_GRUOP"], NAMES) == ["DWH_GROUP"]


def test_a_case_difference_comes_first_and_exact_names_are_not_suggested() -> None:
    assert closest(["dwh_group"], NAMES)[0] == "DWH_GROUP"
    assert "R59" not in closest(["R59"], NAMES)


def test_nothing_close_suggests_nothing() -> None:
    assert closest(["the"], NAMES) == []
