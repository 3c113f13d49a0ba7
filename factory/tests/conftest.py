"""Fixtures shared by the factory's test modules."""
import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """The renderer runs many small tensor ops; on this 2-core machine, shared with other jobs, two OpenMP threads
    spin-wait for each other and make them 10-25x slower. One thread for a module's tests, then back.
    Modules that render use it with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
