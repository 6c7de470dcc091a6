"""The restriction parser (formulaic's LinearConstraints per equation): R and q against matrices written by hand."""

from __future__ import annotations

import numpy as np
import pytest

from famtrial.errors import PostEstimationError
from famtrial.models.postestimation import restrictions

NAMES = ["Intercept", "arm", "rwc", "C(month)[T.2016-10]", "a.b", "x y"]


@pytest.mark.parametrize(
    ("text", "r", "q"),
    [
        ("arm = rwc", [[0, 1, -1, 0, 0, 0]], [0]),
        ("2*arm - rwc = 1", [[0, 2, -1, 0, 0, 0]], [1]),
        ("arm = -1", [[0, 1, 0, 0, 0, 0]], [-1]),
        ("(arm + rwc)/2 = a.b", [[0, 0.5, 0.5, 0, -1, 0]], [0]),
        ("arm = rwc = a.b", [[0, 1, -1, 0, 0, 0], [0, 0, 1, 0, -1, 0]], [0, 0]),
        ("arm == rwc", [[0, 1, -1, 0, 0, 0]], [0]),
        ("C(month)[T.2016-10] = 0.5", [[0, 0, 0, 1, 0, 0]], [0.5]),
        ("x y - 3 = arm/4", [[0, -0.25, 0, 0, 0, 1]], [3]),
        ("arm, rwc", [[0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]], [0, 0]),
    ],
)
def test_restrictions_equal_the_hand_written_matrices(text, r, q):
    got_r, got_q, labels = restrictions(NAMES, text)
    np.testing.assert_array_equal(got_r, np.array(r, dtype=float))
    np.testing.assert_array_equal(got_q, np.array(q, dtype=float))
    assert len(labels) == len(q)


def test_restriction_messages_name_the_problem():
    with pytest.raises(PostEstimationError, match=r"unknown terms \['armm'\]; the parameters are \['Intercept'"):
        restrictions(NAMES, "armm = rwc")
    with pytest.raises(PostEstimationError, match="write a linear equation such as 'a = b'"):
        restrictions(NAMES, "arm * rwc = 0")
    with pytest.raises(PostEstimationError, match="involves no parameter"):
        restrictions(NAMES, "arm - arm = 0")
    with pytest.raises(PostEstimationError, match="cannot read restriction 'arm ='"):
        restrictions(NAMES, "arm =")
