"""tn.gcpause: pauses nest (also across threads) and restore the collector's state."""

import gc
import threading

import pytest

from tn.gcpause import gc_paused, paused_gc


def test_nested_pauses_restore_the_state_once_and_survive_exceptions():
    assert gc.isenabled()
    with paused_gc():
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), paused_gc():
        1 / 0
    assert gc.isenabled()
    gc.disable()
    try:
        gc_paused(lambda: None)()
        assert not gc.isenabled()  # a collector disabled before stays disabled
    finally:
        gc.enable()


def test_pauses_in_two_threads_overlap_without_reenabling_early():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with paused_gc():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second():
        a_in.wait(5)
        with paused_gc():
            b_in.set()
            a_out.wait(5)
            seen["inside B after A left"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"inside B after A left": False} and gc.isenabled()
