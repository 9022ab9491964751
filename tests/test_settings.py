import pytest
from conftest import COURSE

from course_kernel import settings
from course_kernel.settings import Settings


def test_settings_read_every_course_variable_with_its_default():
    assert settings.read({}) == Settings()
    read = settings.read({"COURSE_MEMORY_LIMIT_GB": "2.5", "COURSE_SEED": "3", "COURSE_SCHEDULER": "tls://head:8786",
                          "COURSE_KERNEL_THREADS": ""})
    assert (read.memory_limit_gb, read.seed, read.scheduler, read.kernel_threads) == (2.5, 3, "tls://head:8786", None)


def test_a_setting_that_is_not_a_number_says_what_to_set():
    with pytest.raises(ValueError, match="COURSE_CPU_LIMIT_S='lots' is not an integer: set it to a number like 1800"):
        settings.read({"COURSE_CPU_LIMIT_S": "lots"})


def test_a_task_carries_the_grading_settings_and_nothing_else():
    env = {"COURSE_PROFILE": "smoke", "COURSE_SCHEDULER": "tls://head:8786", "COURSE_SEED": "", "HOME": "/root"}
    assert settings.carried(env) == {"COURSE_PROFILE": "smoke"}


def test_the_configuration_reference_lists_every_setting():
    reference = (COURSE / "docs" / "instructors" / "configuration.md").read_text()
    missing = [Settings.variable(f) for f in Settings.__dataclass_fields__ if Settings.variable(f) not in reference]
    assert not missing, missing
