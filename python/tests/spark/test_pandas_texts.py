"""Issue 29 #15 with pandas (in the spark venv, which has it; the package's own test venv holds
only numpy): a DataFrame is refused, naming its text column as what to pass; a Series of str
is classified as the list of its values; a Series with a missing value names it."""
import numpy as np
import pandas as pd
import pytest

import docquant


def test_dataframe_is_refused_and_series_is_taken(int8_folder):
    clf = docquant.Classifier(int8_folder)
    texts = ["a great movie", "a dull mess", "fine"]
    df = pd.DataFrame({"text": texts, "label": [1, 0, 1]})
    for call in (clf.predict, clf.predict_proba, clf.classify, lambda t: list(clf.predict_iter(t)),
                 lambda t: docquant.tokenize(int8_folder, t)):
        with pytest.raises(docquant.UsageError, match=r'texts is pandas.DataFrame, a table, whose iteration gives its '
                                                      r'columns: pass its text column, e.g. df\["text"\]'):
            call(df)
    assert clf.predict(df["text"]) == clf.predict(texts)
    assert np.array_equal(clf.predict_proba(df["text"]), clf.predict_proba(texts))
    assert list(clf.predict_iter(df["text"], chunk_size=2)) == clf.predict(texts)
    with pytest.raises(docquant.UsageError, match=r"texts\[1\] is float nan, not str: .* missing value"):
        clf.predict(pd.Series(["a great movie", np.nan]))  # as read_csv gives an empty cell
