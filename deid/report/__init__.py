"""`deid audit report`: the HTML report of a run (build.py collects, page.py renders),
thumbnails of the de-identified outputs (thumbnails.py) and its charts (charts.py).

Above the engine: it reads what a run left behind (the audit log, the outputs through the sink: Sink.open);
the audit package below keeps the events and the log only."""
