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


def test_a_typed_part_of_a_name_suggests_the_name() -> None:
    assert closest(["LAKE"], NAMES) == ["LAKE_GROUP"]
    assert closest(["lake"], NAMES) == ["LAKE_GROUP"]
    assert closest(["GROUP"], ["DWH_GROUP", "LAKE_GROUP"]) == ["DWH_GROUP", "LAKE_GROUP"]
    assert closest(["up"], ["DWH_UP"]) == []  # too short to stand for a part


def test_a_word_close_to_a_keyword_suggests_the_command() -> None:
    from bot.query.closest import closest_command

    assert closest_command(["opne"]) == "/releases open"
    assert closest_command(["stanup", "R59"]) == "/releases standup R59"
    assert closest_command(["group:X"]) is None  # only plain words stand for keywords
    assert closest_command(["R599", "the"]) is None
