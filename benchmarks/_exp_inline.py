from concurrent.futures import Executor, Future
from benchmarks.wecom_app import create as _create
class Inline(Executor):
    def submit(self, fn, *a, **k):
        f = Future(); f.set_result(fn(*a, **k)); return f
def create():
    app = _create()
    app.extensions["zhibu.wecom"].executor = Inline()
    return app
