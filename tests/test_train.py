"""Training: determinism, learning on a small slice, batched evaluation, the sample printout."""
import numpy as np
import pytest

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.data import default_data_path, load_dates
from seqattn.optim import SGD, Adam, clip_grads
from seqattn.seq2seq import Seq2seq
from seqattn.train import Trainer, correct_answers, evaluate, predict, show_samples


@pytest.fixture(scope="module")
def dates():
    return load_dates(default_data_path(), reverse=True)


def small_run(dates, seed, n=512, epochs=2):
    (x, t), _, vocab = dates
    model = AttentionSeq2seq(len(vocab), 8, 32, seed=seed)
    trainer = Trainer(model, Adam(), seed=seed)
    trainer.fit(x[:n], t[:n], epochs=epochs, batch_size=64, max_grad=5.0, progress=False)
    return model, trainer


def test_same_seed_same_history(dates):
    _, a = small_run(dates, seed=7)
    _, b = small_run(dates, seed=7)
    _, c = small_run(dates, seed=8)
    assert len(a.loss_history) == 2 * (512 // 64)
    assert a.loss_history == b.loss_history
    assert a.loss_history != c.loss_history


def test_gradient_norms_are_recorded_before_clipping(dates):
    (x, t), _, vocab = dates
    norms = {}
    for max_grad in (None, 1e-3):
        model = AttentionSeq2seq(len(vocab), 8, 32, seed=0)
        trainer = Trainer(model, Adam(), seed=0)
        trainer.fit(x[:256], t[:256], epochs=1, batch_size=64, max_grad=max_grad,
                    progress=False)
        assert len(trainer.grad_norm_history) == len(trainer.loss_history) == 4
        norms[max_grad] = trainer.grad_norm_history
    # the first step's gradients are the same either way, and far above the clipping norm
    assert norms[None][0] == pytest.approx(norms[1e-3][0]) and norms[None][0] > 0.01
    # with max_grad=None nothing is clipped: the recorded norm is the norm Adam received
    model = AttentionSeq2seq(len(vocab), 8, 32, seed=0)
    first_batch = np.random.default_rng(0).permutation(256)[:64]  # the trainer's first batch
    model.forward(x[first_batch], t[first_batch])
    model.backward()
    assert clip_grads(model.grads, np.inf) == pytest.approx(norms[None][0])


def test_attention_model_learns_a_small_slice_in_seconds(dates):
    (x, t), _, vocab = dates
    model = AttentionSeq2seq(len(vocab), 16, 64, seed=0)
    trainer = Trainer(model, Adam(lr=0.005), seed=0)
    trainer.fit(x[:2048], t[:2048], epochs=3, batch_size=64, max_grad=5.0, progress=False)
    history = trainer.loss_history
    first, last = np.mean(history[:5]), np.mean(history[-5:])
    assert first == pytest.approx(np.log(len(vocab)), rel=0.05)  # uniform guessing at first
    assert last < 0.5 * first, (first, last)


def test_adam_and_sgd_lower_a_quadratic():
    for optimizer in (Adam(lr=0.1), SGD(lr=0.1)):
        p = np.array([3.0, -2.0])
        for _ in range(200):
            optimizer.update([p], [2 * p])  # gradient of |p|^2
        assert np.abs(p).max() < 0.05


def test_adam_keeps_float32():
    p, g = np.ones(3, np.float32), np.ones(3, np.float32)
    Adam().update([p], [g])
    assert p.dtype == np.float32


def test_clip_grads_scales_the_global_norm():
    grads = [np.array([3.0, 0.0]), np.array([[4.0]])]
    assert clip_grads(grads, 1.0) == pytest.approx(5.0)
    assert np.sqrt(sum((g ** 2).sum() for g in grads)) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(grads[0], [0.6, 0.0], rtol=1e-5)
    small = [np.array([0.1, 0.2])]
    clip_grads(small, 1.0)
    np.testing.assert_array_equal(small[0], [0.1, 0.2])


def test_fit_rejects_bad_input(dates):
    (x, t), _, vocab = dates
    trainer = Trainer(Seq2seq(len(vocab), 4, 8), Adam())
    with pytest.raises(ValueError, match="samples"):
        trainer.fit(x[:10], t[:9])
    with pytest.raises(ValueError, match="batch_size 64"):
        trainer.fit(x[:10], t[:10], batch_size=64)


class Oracle:
    """A 'model' that answers from a lookup table: it lets evaluation be tested exactly."""

    def __init__(self, x, t, wrong):
        self.answers = {row.tobytes(): ans for row, ans in zip(x, t[:, 1:])}
        self.wrong = set(wrong)
        self.calls = 0

    def generate(self, xs, start_id, sample_size):
        self.calls += 1
        out = np.array([self.answers[row.tobytes()] for row in xs])
        for k, row in enumerate(xs):
            if row.tobytes() in self.wrong:
                out[k, -1] = (out[k, -1] + 1) % 10
        return out


def test_evaluate_counts_exact_matches_in_batches(dates):
    _, (x, t), vocab = dates
    wrong = [x[k].tobytes() for k in (3, 10, 999, 1000, 4321)]
    oracle = Oracle(x, t, wrong)
    assert evaluate(oracle, x, t, batch_size=1000, threads=1) == pytest.approx(1 - 5 / len(x))
    assert oracle.calls == int(np.ceil(len(x) / 1000))  # batches, never one question at a time
    mask = correct_answers(oracle, x, t, threads=2)  # batches side by side: the same answers
    assert list(np.flatnonzero(~mask)) == [3, 10, 999, 1000, 4321]


def test_predict_returns_attention_of_the_decoding(dates):
    _, (x, t), vocab = dates
    model = AttentionSeq2seq(len(vocab), 4, 8, seed=0)
    ids, weights = predict(model, x[:30], vocab.start_id, 10, batch_size=8)
    assert ids.shape == (30, 10) and weights.shape == (30, 10, 29)
    ids_one, weights_one = model.generate(x[12:13], vocab.start_id, 10)
    np.testing.assert_array_equal(ids[12], ids_one[0])
    np.testing.assert_allclose(weights[12], weights_one[0], rtol=1e-5)
    assert predict(Seq2seq(len(vocab), 4, 8), x[:30], vocab.start_id, 10)[1] is None


def test_show_samples_marks_right_and_wrong(dates, capsys):
    _, (x, t), vocab = dates
    rows = show_samples(Oracle(x, t, [x[1].tobytes()]), x, t, vocab, k=3)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[0].split() == ["question", "truth", "answer"]
    assert [r[3] for r in rows] == [True, False, True]
    assert rows[0][0] == vocab.decode_question(x[0]) and rows[0][1] == vocab.decode(t[0, 1:])
    assert out[1].endswith("✓") and out[2].endswith("✗ wrong")
    assert rows[0][0] in out[1] and rows[1][1] in out[2]


class ThreadProbe:
    """A 'model' that records how many BLAS threads it was given."""

    params, grads = [], []

    def __init__(self):
        self.seen = []

    def _record(self):
        from threadpoolctl import threadpool_info
        self.seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})

    def forward(self, x, t):
        self._record()
        return 0.0

    def backward(self):
        pass

    def generate(self, xs, start_id, sample_size):
        self._record()
        return np.zeros((len(xs), sample_size), dtype=int)


@pytest.mark.parametrize("threads", [1, 2])
def test_training_and_evaluation_use_the_thread_setting(threads):
    probe = ThreadProbe()
    x, t = np.zeros((4, 3), dtype=int), np.zeros((4, 2), dtype=int)
    Trainer(probe, SGD()).fit(x, t, batch_size=2, progress=False, threads=threads)
    evaluate(probe, x, t, threads=threads)
    assert probe.seen and all(s == {threads} for s in probe.seen)


class _Recorder:
    """A stand-in model that remembers which samples each batch held (x[:, 0] is the index)."""

    param_names = ("w",)

    def __init__(self):
        self.params, self.grads = [np.zeros(1)], [np.zeros(1)]
        self.batches = []

    def forward(self, x, t):
        self.batches.append(x[:, 0].copy())
        return 0.0

    def backward(self):
        pass


def _batches_seen(seed, n=100, epochs=2, batch_size=10):
    x = np.arange(n)[:, None]
    model = _Recorder()
    Trainer(model, SGD(), seed=seed).fit(x, x, epochs=epochs, batch_size=batch_size,
                                         progress=False)
    return np.array(model.batches).reshape(epochs, n)  # one row per epoch


def test_every_epoch_sees_every_sample_once_in_a_fresh_order():
    seen = _batches_seen(seed=0)
    for epoch in seen:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(100))  # each sample once
        # shuffled: far from the order of the data (a fixed order would leave most in place)
        assert (epoch == np.arange(100)).mean() < 0.2
    assert (seen[0] != seen[1]).mean() > 0.8  # a new order each epoch
    assert (_batches_seen(seed=1)[0] != seen[0]).mean() > 0.8  # the seed decides the order
    np.testing.assert_array_equal(_batches_seen(seed=0), seen)  # and only the seed


def test_fit_clips_the_gradients_it_applies(dates):
    """With SGD (lr 1) the step is the gradient itself: clipped to max_grad, it has that norm."""
    (x, t), _, vocab = dates
    for max_grad in (1e-3, None):
        model = AttentionSeq2seq(len(vocab), 8, 32, seed=0)
        before = [p.copy() for p in model.params]
        trainer = Trainer(model, SGD(lr=1.0), seed=0)
        trainer.fit(x[:64], t[:64], epochs=1, batch_size=64, max_grad=max_grad, progress=False)
        step = np.sqrt(sum(float(((p - q) ** 2).sum()) for p, q in zip(model.params, before)))
        expected = trainer.grad_norm_history[0] if max_grad is None else max_grad
        assert step == pytest.approx(expected, rel=1e-3)
    assert trainer.grad_norm_history[0] > 10 * 1e-3  # so the clipping above did something


# --- after each epoch: eval_data and on_epoch ----------------------------------------------------

def test_fit_records_the_accuracy_after_every_epoch_in_one_call(dates):
    (x, t), (x_test, t_test), vocab = dates
    model = AttentionSeq2seq(len(vocab), 16, 64, seed=0)
    trainer = Trainer(model, Adam(lr=0.005), seed=0)
    seen = []

    def check(trainer_, epoch):
        # called after the epoch's evaluation, with the model as it is after that epoch
        assert trainer_ is trainer and len(trainer.loss_history) == epoch * (2048 // 64)
        seen.append((epoch, evaluate(model, x_test[:300], t_test[:300])))

    trainer.fit(x[:2048], t[:2048], epochs=2, batch_size=64, max_grad=5.0, progress=False,
                eval_data=(x_test[:300], t_test[:300]), on_epoch=check)
    trainer.fit(x[:2048], t[:2048], epochs=1, batch_size=64, max_grad=5.0, progress=False,
                eval_data=(x_test[:300], t_test[:300]), on_epoch=check)
    # the epochs count on over both calls, and each accuracy is the model's after its epoch
    assert trainer.epochs_done == 3 and [e for e, _ in trainer.accuracy_history] == [1, 2, 3]
    assert trainer.accuracy_history == seen


class Learner(Seq2seq):
    """A real Seq2seq for training, whose answers are right for the first 10 questions per
    iteration it has trained: its accuracy tells exactly when it was evaluated."""

    def __init__(self, vocab, x, t):
        super().__init__(len(vocab), 4, 8, seed=0)
        self.answers = {row.tobytes(): ans for row, ans in zip(x, t[:, 1:])}
        self.order = {row.tobytes(): k for k, row in enumerate(x)}
        self.iterations = 0

    def forward(self, xs, ts):
        self.iterations += 1
        return super().forward(xs, ts)

    def generate(self, xs, start_id, sample_size):
        out = np.array([self.answers[row.tobytes()] for row in xs])
        wrong = np.array([self.order[row.tobytes()] >= 10 * self.iterations for row in xs])
        out[wrong, 0] = (out[wrong, 0] + 1) % 10
        return out


def test_the_accuracy_recorded_is_the_models_after_its_epoch(dates):
    (x, t), (x_test, t_test), vocab = dates
    model = Learner(vocab, x_test[:200], t_test[:200])
    trainer = Trainer(model, Adam(), seed=0)
    trainer.fit(x[:128], t[:128], epochs=3, batch_size=32, progress=False,
                eval_data=(x_test[:200], t_test[:200]))  # 4 iterations an epoch
    assert trainer.accuracy_history == [(1, 0.2), (2, 0.4), (3, 0.6)]


def test_evaluating_after_each_epoch_does_not_change_the_training(dates):
    (x, t), (x_test, t_test), vocab = dates
    runs = []
    for eval_data in (None, (x_test[:100], t_test[:100])):
        model = AttentionSeq2seq(len(vocab), 8, 32, seed=3)
        trainer = Trainer(model, Adam(), seed=3)
        trainer.fit(x[:512], t[:512], epochs=2, batch_size=64, progress=False,
                    eval_data=eval_data)
        runs.append((trainer.loss_history, [p.copy() for p in model.params]))
        assert len(trainer.accuracy_history) == (0 if eval_data is None else 2)
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_fit_refuses_bad_eval_data_before_training(dates):
    (x, t), (x_test, t_test), vocab = dates
    trainer = Trainer(AttentionSeq2seq(len(vocab), 4, 8, seed=0), Adam())
    bad = [(x_test[:10], "a pair"), ((x_test[:10], t_test[:9]), "t must be an"),
           ((x_test[:10], t_test[:10], None), "a pair"),
           ((x_test[:10, ::-1].copy() * 0 + 99, t_test[:10]), "vocabulary")]
    for eval_data, message in bad:
        with pytest.raises(ValueError, match=message):
            trainer.fit(x[:64], t[:64], batch_size=32, progress=False, eval_data=eval_data)
    with pytest.raises(TypeError, match="on_epoch must be a function"):
        trainer.fit(x[:64], t[:64], batch_size=32, progress=False, on_epoch="print")
    assert trainer.loss_history == [] and trainer.epochs_done == 0


def test_set_blas_threads_changes_the_setting_in_a_running_process(monkeypatch):
    from seqattn import set_blas_threads, speed

    probe = ThreadProbe()
    x, t = np.zeros((4, 3), dtype=int), np.zeros((4, 2), dtype=int)
    original = speed.BLAS_THREADS
    try:
        most = min(2, speed.available_cores())
        for n in sorted({1, most}):
            set_blas_threads(n)
            probe.seen.clear()
            Trainer(probe, SGD()).fit(x, t, batch_size=2, progress=False)
            evaluate(probe, x, t)
            assert probe.seen and all(s == {n} for s in probe.seen)
        # None reads the environment variable again
        monkeypatch.setenv("SEQATTN_BLAS_THREADS", "1")
        assert set_blas_threads() == most and speed.BLAS_THREADS == 1
        with pytest.raises(ValueError, match="threads must be >= 1"):
            set_blas_threads(0)
        with pytest.warns(RuntimeWarning, match="1000 BLAS threads is more than the"):
            set_blas_threads(1000)
        assert speed.BLAS_THREADS == speed.available_cores()
    finally:
        speed.BLAS_THREADS = original


class BatchProbe:
    """A 'model' whose answer to question k is k's first id, and which records the thread that
    decoded each batch and the BLAS threads it had."""

    def __init__(self):
        self.seen = []  # shared by the copies predict makes: (thread, BLAS threads) per batch

    def __deepcopy__(self, memo):
        twin = type(self)()
        twin.seen = self.seen
        return twin

    def generate(self, xs, start_id, sample_size):
        import threading

        from threadpoolctl import threadpool_info
        blas = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
        self.seen.append((threading.get_ident(), blas))
        return np.repeat(xs[:, :1], sample_size, axis=1)


def test_two_threads_decode_batches_side_by_side_in_order():
    probe = BatchProbe()
    x = np.arange(14)[:, None]
    ids, _ = predict(probe, x, 0, 3, batch_size=3, threads=2)  # 5 batches
    np.testing.assert_array_equal(ids, np.repeat(x, 3, axis=1))  # in the questions' order
    assert len(probe.seen) == 5 and all(blas == {1} for _, blas in probe.seen)
    assert len({thread for thread, _ in probe.seen}) == 2
    probe.seen.clear()
    predict(probe, x, 0, 3, batch_size=3, threads=1)  # one core: in turn, here
    assert len({thread for thread, _ in probe.seen}) == 1


def test_batches_side_by_side_give_the_answers_and_maps_of_one_core(dates):
    _, (x, t), vocab = dates
    model = AttentionSeq2seq(len(vocab), 16, 32, seed=0)
    one = predict(model, x[:700], vocab.start_id, 10, batch_size=128, threads=1)
    two = predict(model, x[:700], vocab.start_id, 10, batch_size=128, threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_an_error_in_a_batch_decoded_beside_another_reaches_the_caller():
    class Failing(BatchProbe):
        def generate(self, xs, start_id, sample_size):
            if xs[0, 0] == 9:
                raise ValueError("batch 3 cannot be decoded")
            return super().generate(xs, start_id, sample_size)

    with pytest.raises(ValueError, match="batch 3 cannot"):
        predict(Failing(), np.arange(14)[:, None], 0, 3, batch_size=3, threads=2)
