"""seqattn: sequence-to-sequence models with attention, built from scratch in NumPy.

One module per concept, as in chapters 7-8 of *Deep Learning from Scratch 2*:

- ``layers``: Embedding, Affine, Softmax, SoftmaxWithLoss, LSTM and their Time* versions
- ``attention``: WeightSum, AttentionWeight, Attention, TimeAttention, BatchedTimeAttention
- ``seq2seq``, ``peeky_seq2seq``, ``attention_seq2seq``: the three models
- ``optim``: SGD, Adam, clip_grads; ``train``: Trainer (``fit(..., eval_data=...)`` records the
  accuracy after each epoch), predict, evaluate, correct_answers, show_samples
- ``data``: the date data set; ``checkpoint``: .npz save/load (``load_model`` returns a model
  and its vocabulary); ``translate``: one question, with the probability of each answer character
- ``gradcheck``: central-difference checks and their tables; ``speed``: the matrix products of an
  iteration, and the BLAS thread setting (``set_blas_threads`` changes it in a running kernel)

Part 3 (book §8.4): ``scores`` (dot, scaled dot, additive), ``scored_attention`` (attention with
a score layer and a padding mask), ``bahdanau`` (the previous state queries), ``bilstm``,
``stacked_lstm`` (layers with skip connections), and ``attention_variants``, which joins them
into one model, ``AttentionVariant``.
"""
from .attention_seq2seq import AttentionSeq2seq
from .attention_variants import AttentionVariant
from .checkpoint import (CheckpointError, check_fits, load_model, load_params, read_meta,
                         save_params)
from .data import Vocabulary, default_data_path, load_dates
from .optim import SGD, Adam, clip_grads
from .peeky_seq2seq import PeekySeq2seq
from .seq2seq import Seq2seq
from .speed import set_blas_threads
from .train import Trainer, TrainingDiverged, correct_answers, evaluate, predict, show_samples
from .translate import Translation, translate

__version__ = "0.1.0"

__all__ = ["AttentionSeq2seq", "AttentionVariant", "PeekySeq2seq", "Seq2seq", "Vocabulary",
           "load_dates", "default_data_path", "SGD", "Adam", "clip_grads", "Trainer",
           "TrainingDiverged", "evaluate", "predict", "correct_answers", "show_samples",
           "translate", "Translation", "save_params", "load_params", "load_model", "read_meta",
           "check_fits", "CheckpointError", "set_blas_threads"]
