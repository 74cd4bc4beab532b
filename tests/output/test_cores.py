"""Renders side by side share the machine's cores: x264's threads for each."""

from neuroshorts.output.cores import ENCODER_THREADS, cores, shared_cores


def test_one_render_at_a_time_leaves_x264_its_own_threads():
    assert shared_cores(1) == {}


def test_renders_side_by_side_each_get_an_equal_share_of_the_cores():
    assert shared_cores(2) == {ENCODER_THREADS: str(max(1, cores() // 2))}
    assert shared_cores(cores() * 4) == {ENCODER_THREADS: "1"}, "never fewer than one"


def test_a_thread_count_set_by_hand_is_kept(monkeypatch):
    monkeypatch.setenv(ENCODER_THREADS, "3")
    assert shared_cores(2) == {}
