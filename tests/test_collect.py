import zipfile

from course.grading.intake import normalised_name
from course.instructor.collect import collect, main, student_id


def course_with(tmp_path, *assignments):
    for assignment in assignments:
        (tmp_path / "source" / assignment).mkdir(parents=True)
    return tmp_path


def test_colab_and_browser_renamings_are_undone():
    for name in ("mlp1.ipynb", "Copy of mlp1.ipynb", "mlp1 (1).ipynb", "mlp1.ipynb.json", "Copy of mlp1 (2).ipynb"):
        assert normalised_name(name) == "mlp1.ipynb", name
    assert normalised_name("notes.ipynb") == "notes.ipynb"
    assert student_id("Taro Yamada") == "Taro_Yamada" and student_id("../..") == "unnamed"


def test_lms_zip_with_a_folder_per_student(tmp_path):
    course = course_with(tmp_path / "course", "mlp1", "mlp2")
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("taro/Copy of mlp1.ipynb", "{}")
        z.writestr("hana/mlp1 (1).ipynb", "{}")
        z.writestr("hana/mlp2.ipynb.json", "{}")
        z.writestr("__MACOSX/hana/._mlp1.ipynb", "junk")
        z.writestr("jiro/notes.txt", "hello")
    report, problems = collect(archive, course)
    assert (course / "submitted/taro/mlp1/mlp1.ipynb").read_text() == "{}"
    assert (course / "submitted/hana/mlp1/mlp1.ipynb").exists() and (course / "submitted/hana/mlp2/mlp2.ipynb").exists()
    assert "renamed  taro/Copy of mlp1.ipynb -> taro/mlp1/mlp1.ipynb" in report
    assert problems and "skipped  jiro/notes.txt: not a notebook of this course (mlp1.ipynb, mlp2.ipynb)" in report


def test_file_name_prefixes_and_a_custom_pattern(tmp_path):
    course = course_with(tmp_path / "course", "mlp1")
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "yamadataro_1234_5678_mlp1.ipynb").write_text("{}")
    (folder / "Taro Yamada_99_assignsubmission_file_").mkdir()
    (folder / "Taro Yamada_99_assignsubmission_file_" / "mlp1.ipynb").write_text("{}")
    assert main([str(folder), "--course", str(course), "--pattern", r"^(?P<student>[^/_]+)(_|/)"]) == 0
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["Taro_Yamada", "yamadataro"]


def test_two_candidates_are_reported_and_neither_is_collected(tmp_path, capsys):
    course = course_with(tmp_path / "course", "mlp1")
    folder = tmp_path / "download" / "taro"
    folder.mkdir(parents=True)
    (folder / "mlp1.ipynb").write_text('{"a": 1}')
    (folder / "Copy of mlp1.ipynb").write_text('{"b": 2}')
    assert main([str(folder.parent), "--course", str(course)]) == 1
    assert "CONFLICT taro/mlp1: 2 candidate notebooks" in capsys.readouterr().out
    assert not (course / "submitted").exists()


def test_collecting_again_replaces_only_what_changed(tmp_path):
    course = course_with(tmp_path / "course", "mlp1")
    folder = tmp_path / "download" / "taro"
    folder.mkdir(parents=True)
    (folder / "mlp1.ipynb").write_text("{}")
    assert collect(folder.parent, course)[0] == ["new      submitted/taro/mlp1/mlp1.ipynb"]
    assert collect(folder.parent, course)[0] == ["same     submitted/taro/mlp1/mlp1.ipynb"]
    (folder / "mlp1.ipynb").write_text('{"v": 2}')
    assert collect(folder.parent, course)[0] == ["replaced submitted/taro/mlp1/mlp1.ipynb"]
