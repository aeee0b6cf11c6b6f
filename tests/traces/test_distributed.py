"""Which file a rank writes: torchrun's RANK and WORLD_SIZE decide."""

from traces.distributed import per_rank_path, rank_and_world_size


def test_a_single_process_writes_the_path_it_was_given():
    assert per_rank_path("out/run.trace", {}) == "out/run.trace"
    assert per_rank_path("run.trace", {"RANK": "0", "WORLD_SIZE": "1"}) == "run.trace"


def test_each_rank_of_a_distributed_run_writes_its_own_file():
    env = {"RANK": "1", "WORLD_SIZE": "4"}
    assert rank_and_world_size(env) == (1, 4)
    assert per_rank_path("out/run.trace", env) == "out/run.rank1.trace"
    assert per_rank_path("run", env) == "run.rank1.trace"


def test_a_malformed_launch_environment_is_a_single_process():
    assert rank_and_world_size({"RANK": "x", "WORLD_SIZE": "2"}) is None
    assert rank_and_world_size({"RANK": "2", "WORLD_SIZE": "2"}) is None
