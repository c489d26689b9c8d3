#!/usr/bin/python3
"""Plain-PyTorch reference for sparkner's encoder + token-classification head.

BERT / RoBERTa / XLM-RoBERTa token classification with exactly Hugging Face
`transformers` semantics and parameter names (`BertForTokenClassification`,
`RobertaForTokenClassification`, `XLMRobertaForTokenClassification`), built from a
HF `config.json` dict, without `transformers` or `safetensors` installed.

Layout of this file (model code is independent of the CLI, so later subcommands such
as `train` and `bench` only add a function and a sub-parser):

  1. safetensors read/write             read_safetensors, write_safetensors
  2. config                             NerConfig
  3. model                              TokenClassificationModel (+ encoder modules)
  4. checkpoint IO (transformers-like)  load_state_dict_like_hf, load_pretrained, save_pretrained
  5. numeric helpers                    token_classification_loss, json_floats
  6. subcommands                        cmd_fixtures, cmd_hidden, cmd_train, cmd_bench
  7. CLI                                main

Run with the Debian interpreter that has torch: /usr/bin/python3 (see README.md).
"""

import argparse
import json
import math
import os
import struct
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# --------------------------------------------------------------------------------------
# 1. safetensors
# --------------------------------------------------------------------------------------

_ST_NP = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
}
_ST_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1}


def read_safetensors(path):
    """Returns (OrderedDict name -> torch.Tensor in the stored dtype, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    out = OrderedDict()
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dtype, shape = info["dtype"], info["shape"]
        b, e = info["data_offsets"]
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * _ST_ITEMSIZE[dtype]:
            raise ValueError(f"{path}: {name}: {e - b} bytes for {dtype}{shape}")
        raw = data[base + b: base + e]
        if dtype == "BF16":
            u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            t = torch.from_numpy(u16.view(np.float32).copy()).to(torch.bfloat16)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_ST_NP[dtype]).newbyteorder("<"))
            t = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="), copy=True))
        out[name] = t.reshape(shape)
    return out, meta


def write_safetensors(path, tensors, metadata=None, dtype="F32"):
    """Writes {name: tensor} like the HF library: header sorted by name, data contiguous in
    that order, header padded with spaces to a multiple of 8 bytes."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if dtype == "F32":
            raw = t.to(torch.float32).numpy().astype("<f4").tobytes()
        elif dtype == "F16":
            raw = t.to(torch.float16).numpy().astype("<f2").tobytes()
        elif dtype == "BF16":
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)


# --------------------------------------------------------------------------------------
# 2. config
# --------------------------------------------------------------------------------------

ROBERTA_TYPES = ("roberta", "xlm-roberta")


class NerConfig:
    """The subset of a HF config.json the encoder needs, with transformers' defaults."""

    def __init__(self, d):
        self.raw = dict(d)
        self.model_type = d.get("model_type", "bert")
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.num_hidden_layers = d["num_hidden_layers"]
        self.num_attention_heads = d["num_attention_heads"]
        self.intermediate_size = d["intermediate_size"]
        self.max_position_embeddings = d.get("max_position_embeddings", 512)
        self.type_vocab_size = d.get("type_vocab_size", 2)
        self.layer_norm_eps = d.get("layer_norm_eps", 1e-12)
        self.hidden_act = d.get("hidden_act", "gelu")
        self.hidden_dropout_prob = d.get("hidden_dropout_prob", 0.1)
        self.attention_probs_dropout_prob = d.get("attention_probs_dropout_prob", 0.1)
        self.classifier_dropout = d.get("classifier_dropout")
        self.initializer_range = d.get("initializer_range", 0.02)
        self.pad_token_id = d.get("pad_token_id", 1 if self.is_roberta else 0)
        pet = d.get("position_embedding_type", "absolute")
        if pet != "absolute":
            raise ValueError(f"position_embedding_type {pet!r} not supported")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("hidden_size not a multiple of num_attention_heads")
        id2label = d.get("id2label")
        if id2label:
            self.id2label = {int(k): v for k, v in id2label.items()}
            self.num_labels = len(self.id2label)
        else:  # transformers' PretrainedConfig default
            self.num_labels = d.get("num_labels", 2)
            self.id2label = {i: f"LABEL_{i}" for i in range(self.num_labels)}

    @property
    def is_roberta(self):
        return self.model_type in ROBERTA_TYPES

    @property
    def prefix(self):
        """transformers' base_model_prefix."""
        return "roberta" if self.is_roberta else "bert"

    @property
    def architecture(self):
        return {"bert": "BertForTokenClassification", "roberta": "RobertaForTokenClassification",
                "xlm-roberta": "XLMRobertaForTokenClassification"}.get(self.model_type, "BertForTokenClassification")

    @classmethod
    def from_file(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))


# --------------------------------------------------------------------------------------
# 3. model — module tree mirrors transformers so state_dict() names are HF names
# --------------------------------------------------------------------------------------

ACT = {
    "gelu": F.gelu,  # erf form
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


def roberta_position_ids(input_ids, pad_token_id, past_length=0):
    """transformers.models.roberta.modeling_roberta.create_position_ids_from_input_ids."""
    mask = input_ids.ne(pad_token_id).int()
    incremental = (torch.cumsum(mask, dim=1).type_as(mask) + past_length) * mask
    return incremental.long() + pad_token_id


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        # RobertaEmbeddings gives position_embeddings padding_idx too; BertEmbeddings does not.
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size,
                                                padding_idx=c.pad_token_id if c.is_roberta else None)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None, position_ids=None):
        b, l = input_ids.shape
        if position_ids is None:
            if self.c.is_roberta:
                position_ids = roberta_position_ids(input_ids, self.c.pad_token_id)
            else:
                position_ids = torch.arange(l, dtype=torch.long, device=input_ids.device).unsqueeze(0).expand(b, l)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = (self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
             + self.position_embeddings(position_ids))
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h = c.num_attention_heads
        self.d = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def _heads(self, x):  # [B, L, H*D] -> [B, H, L, D]
        b, l, _ = x.shape
        return x.view(b, l, self.h, self.d).permute(0, 2, 1, 3)

    def forward(self, x, additive_mask):
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d)
        scores = scores + additive_mask  # [B, 1, 1, L]
        probs = self.dropout(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], self.h * self.d)


class SelfOutput(nn.Module):  # also used as the FFN output ("output.dense" + "output.LayerNorm")
    def __init__(self, c, in_size):
        super().__init__()
        self.dense = nn.Linear(in_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        setattr(self, "self", SelfAttention(c))  # HF name "attention.self"
        self.output = SelfOutput(c, c.hidden_size)

    def forward(self, x, additive_mask):
        return self.output(getattr(self, "self")(x, additive_mask), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = ACT[c.hidden_act]

    def forward(self, x):
        return self.act(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = SelfOutput(c, c.intermediate_size)

    def forward(self, x, additive_mask):
        a = self.attention(x, additive_mask)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x, additive_mask):
        for layer in self.layer:
            x = layer(x, additive_mask)
        return x


def additive_attention_mask(attention_mask, dtype):
    """transformers' get_extended_attention_mask: [B, L] 1/0 -> [B, 1, 1, L] with
    0 for keep and finfo(dtype).min for masked keys (broadcast over heads and queries)."""
    m = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


class BaseModel(nn.Module):
    """BertModel / RobertaModel without pooler (add_pooling_layer=False, as the
    *ForTokenClassification classes build it)."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        return self.encoder(x, additive_attention_mask(attention_mask, x.dtype))


class TokenClassificationModel(nn.Module):
    """{Bert,Roberta,XLMRoberta}ForTokenClassification: base model under `bert.`/`roberta.`,
    dropout + Linear `classifier`."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.base_model_prefix = c.prefix
        self.add_module(c.prefix, BaseModel(c))
        p = c.classifier_dropout if c.classifier_dropout is not None else c.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(c.hidden_size, c.num_labels)

    @property
    def base(self):
        return getattr(self, self.base_model_prefix)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, position_ids=None):
        """Returns (loss or None, logits [B, L, num_labels])."""
        h = self.base(input_ids, attention_mask, token_type_ids, position_ids)
        logits = self.classifier(self.dropout(h))
        loss = token_classification_loss(logits, labels) if labels is not None else None
        return loss, logits

    def init_weights_like_hf(self, seed=0):
        """transformers' _init_weights: Linear/Embedding normal(0, initializer_range),
        biases 0, LayerNorm 1/0, padding_idx rows of embeddings zeroed."""
        g = torch.Generator().manual_seed(seed)
        for m in self.modules():
            _hf_init_module(m, self.c.initializer_range, g)


def _hf_init_module(m, std, g):
    with torch.no_grad():
        if isinstance(m, nn.Linear):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * std)
            m.bias.zero_()
        elif isinstance(m, nn.Embedding):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * std)
            if m.padding_idx is not None:
                m.weight[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            m.weight.fill_(1.0)
            m.bias.zero_()


def token_classification_loss(logits, labels):
    """Mean cross entropy over tokens whose label != -100."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


# --------------------------------------------------------------------------------------
# 4. checkpoint IO with transformers' prefix handling and key report
# --------------------------------------------------------------------------------------

# BertForTokenClassification / RobertaForTokenClassification: _keys_to_ignore_on_load_unexpected = [r"pooler"];
# old checkpoints also carry the non-persistent buffers below.
IGNORED_UNEXPECTED = ("pooler.", "embeddings.position_ids", "embeddings.token_type_ids")


def load_state_dict_like_hf(model, state, source="checkpoint", seed=0, verbose=True):
    """Loads `state` into `model` the way transformers' from_pretrained does:
    - a base-model checkpoint (no `bert.`/`roberta.` prefix) gets the prefix added;
      a head checkpoint loaded into a bare base model gets it removed;
    - tensors are cast to the model's dtype (F16/BF16 upcast to fp32);
    - shape mismatches are an error;
    - pooler weights and position_ids buffers are ignored silently;
    - missing keys (e.g. `classifier.*`) stay newly initialised (HF _init_weights, seeded).
    Returns a report dict {missing, unexpected, ignored, loaded, added_prefix}."""
    prefix = getattr(model, "base_model_prefix", None)
    model_sd = model.state_dict()
    has_prefix = prefix is not None and any(k.startswith(prefix + ".") for k in state)
    expects_prefix = prefix is not None and any(k.startswith(prefix + ".") for k in model_sd)
    renamed, added_prefix = OrderedDict(), False
    for k, v in state.items():
        if expects_prefix and not has_prefix and not k.startswith("classifier."):
            k, added_prefix = f"{prefix}.{k}", True
        elif has_prefix and not expects_prefix and k.startswith(prefix + "."):
            k = k[len(prefix) + 1:]
        renamed[k] = v
    ignored = [k for k in renamed if k not in model_sd and any(s in k for s in IGNORED_UNEXPECTED)]
    unexpected = [k for k in renamed if k not in model_sd and k not in ignored]
    missing = [k for k in model_sd if k not in renamed]
    mism = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(model_sd[k].shape)}"
            for k, v in renamed.items() if k in model_sd and tuple(v.shape) != tuple(model_sd[k].shape)]
    if mism:
        raise ValueError("size mismatch when loading " + source + ":\n  " + "\n  ".join(mism))
    if missing:  # newly initialised, like transformers
        g = torch.Generator().manual_seed(seed)
        mods = dict(model.named_modules())
        for mname in sorted({k.rsplit(".", 1)[0] for k in missing}):
            _hf_init_module(mods[mname], model.c.initializer_range, g)
    with torch.no_grad():
        for k, v in renamed.items():
            if k in model_sd:
                model_sd[k].copy_(v.to(model_sd[k].dtype))
    report = {"source": source, "architecture": model.c.architecture, "added_prefix": prefix if added_prefix else None,
              "loaded": sum(1 for k in renamed if k in model_sd), "missing": sorted(missing),
              "unexpected": sorted(unexpected), "ignored": sorted(ignored)}
    if verbose:
        print_load_report(report)
    return report


def print_load_report(r):
    arch, src = r["architecture"], r["source"]
    print(f"Loaded {r['loaded']} tensors from {src} into {arch}"
          + (f" (base-model checkpoint: added prefix '{r['added_prefix']}.')" if r["added_prefix"] else ""))
    if r["unexpected"]:
        print(f"Some weights of the model checkpoint at {src} were not used when initializing {arch}: {r['unexpected']}")
    if r["ignored"]:
        print(f"Ignored (as transformers does, _keys_to_ignore_on_load_unexpected): {r['ignored']}")
    if r["missing"]:
        print(f"Some weights of {arch} were not initialized from the model checkpoint at {src} "
              f"and are newly initialized: {r['missing']}")
    if not (r["unexpected"] or r["missing"]):
        print(f"All model checkpoint weights were used and all weights of {arch} were initialized.")


def load_pretrained(model_dir, num_labels=None, id2label=None, seed=0, verbose=True):
    """AutoModelForTokenClassification.from_pretrained(model_dir) equivalent (safetensors only)."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        d = json.load(f)
    if id2label is not None:
        d["id2label"] = {str(k): v for k, v in id2label.items()}
        d["label2id"] = {v: int(k) for k, v in id2label.items()}
    elif num_labels is not None:
        d.pop("id2label", None)
        d.pop("label2id", None)
        d["num_labels"] = num_labels
    c = NerConfig(d)
    model = TokenClassificationModel(c)
    state, _ = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    report = load_state_dict_like_hf(model, state, source=model_dir, seed=seed, verbose=verbose)
    return model.eval(), report


def save_pretrained(model, out_dir, dtype="F32"):
    """Writes config.json (with id2label/label2id/architectures) and model.safetensors."""
    os.makedirs(out_dir, exist_ok=True)
    d = dict(model.c.raw)
    d["architectures"] = [model.c.architecture]
    d["id2label"] = {str(i): l for i, l in sorted(model.c.id2label.items())}
    d["label2id"] = {l: i for i, l in sorted(model.c.id2label.items())}
    d.pop("num_labels", None)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(d, f, indent=2, ensure_ascii=False)
        f.write("\n")
    write_safetensors(os.path.join(out_dir, "model.safetensors"), model.state_dict(), {"format": "pt"}, dtype)


# --------------------------------------------------------------------------------------
# 5. numeric helpers
# --------------------------------------------------------------------------------------

def json_floats(x):
    """Tensor/array -> nested lists of Python floats, each the shortest decimal that
    round-trips to the float32 value (Float.parseFloat gives back the exact float32)."""
    a = np.asarray(x.detach().cpu().numpy() if torch.is_tensor(x) else x, dtype=np.float32)
    if a.ndim == 0:
        return float(str(a[()]))
    return [json_floats(r) for r in a] if a.ndim > 1 else [float(str(v)) for v in a]


def dump_json(obj, path):
    """Compact JSON, one top-level key per line (diff-friendly, small)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        items = list(obj.items())
        for i, (k, v) in enumerate(items):
            f.write(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}")
            f.write(",\n" if i < len(items) - 1 else "\n")
        f.write("}\n")


def set_threads(n=None):
    """Tiny models run fastest single-threaded (intra-op threads only add overhead there)."""
    torch.set_num_threads(n if n else max(1, os.cpu_count() or 1))


# --------------------------------------------------------------------------------------
# 6a. `fixtures`: tiny BERT / XLM-R checkpoints + expected logits, loss, gradients
# --------------------------------------------------------------------------------------

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def tiny_config(kind):
    common = {
        "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None, "initializer_range": 0.02, "position_embedding_type": "absolute",
        "id2label": {str(i): l for i, l in enumerate(LABELS)}, "label2id": {l: i for i, l in enumerate(LABELS)},
        "torch_dtype": "float32",
    }
    if kind == "bert":
        d = {"architectures": ["BertForTokenClassification"], "model_type": "bert", "vocab_size": 120,
             "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}
    else:
        d = {"architectures": ["XLMRobertaForTokenClassification"], "model_type": "xlm-roberta", "vocab_size": 150,
             "max_position_embeddings": 66, "type_vocab_size": 1, "layer_norm_eps": 1e-05,
             "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}
    d.update(common)
    return OrderedDict(sorted(d.items()))


def tiny_init(model, seed):
    """Seeded init with numpy's legacy RandomState (stream fixed forever): weights and
    embeddings normal(0, 0.02); Linear biases and LayerNorm biases normal(0, 0.02) (non-zero);
    LayerNorm weights 1 + normal(0, 0.1). Embedding padding rows are kept random (not
    zeroed) so the fixture also exercises them."""
    rs = np.random.RandomState(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if "LayerNorm.weight" in name:
                v = 1.0 + 0.1 * rs.standard_normal(p.shape)
            else:
                v = 0.02 * rs.standard_normal(p.shape)
            p.copy_(torch.from_numpy(v.astype(np.float32)))


def tiny_batch(kind):
    """Batch of 3, padded length 9, true lengths 9/7/5 (BERT) and 9/6/4 (XLM-R)."""
    if kind == "bert":
        cls, sep, pad = 2, 3, 0
        rows = [
            [cls, 17, 45, 45, 88, 9, 101, 60, sep],        # full length, repeated id 45
            [cls, 33, 17, 72, sep, 54, sep],                # sentence pair: token_type 1 on "54 [SEP]"
            [cls, 119, 5, 60, sep],
        ]
        types = [[0] * 9, [0, 0, 0, 0, 0, 1, 1], [0] * 5]
        labels = [
            [-100, 1, 2, 2, 0, 3, -100, 4, -100],           # -100 inside: a non-first subword
            [-100, 0, 1, 0, -100, 3, -100],
            [-100, 3, 4, 0, -100],
        ]
    else:
        bos, eos, pad = 0, 2, 1
        rows = [
            [bos, 17, 145, 145, 88, 9, 101, 60, eos],
            [bos, 33, 17, 72, 120, eos],
            [bos, 149, 5, eos],
        ]
        types = None
        labels = [
            [-100, 1, 2, 2, 0, 3, -100, 4, -100],
            [-100, 0, 1, 0, 3, -100],
            [-100, 3, 0, -100],
        ]
    L = 9
    ids = [r + [pad] * (L - len(r)) for r in rows]
    mask = [[1] * len(r) + [0] * (L - len(r)) for r in rows]
    labs = [r + [-100] * (L - len(r)) for r in labels]
    batch = {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask), "labels": torch.tensor(labs)}
    if types is not None:
        batch["token_type_ids"] = torch.tensor([t + [0] * (L - len(t)) for t in types])
    return batch


GRAD_PARAMS = [
    "classifier.weight",
    "{p}.embeddings.word_embeddings.weight",
    "{p}.encoder.layer.0.attention.self.query.weight",
    "{p}.encoder.layer.1.output.LayerNorm.weight",
    "{p}.embeddings.LayerNorm.bias",
]


def _forward_loss(model, batch):
    loss, logits = model(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"), batch["labels"])
    return loss, logits


def gradcheck_param(model, batch, name):
    """torch.autograd.gradcheck of loss w.r.t. one parameter on a float64 copy."""
    from torch.nn.utils import stateless
    m64 = TokenClassificationModel(model.c)
    m64.load_state_dict(model.state_dict())
    m64 = m64.double().eval()
    params = {k: v.detach() for k, v in m64.named_parameters()}
    x = params[name].clone().requires_grad_(True)

    def f(p):
        ps = dict(params)
        ps[name] = p
        loss, _ = stateless.functional_call(
            m64, ps, (batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"), batch["labels"]))
        return loss

    ok = torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-7, rtol=1e-4)
    # and the fp32 analytical gradient against the fp64 one
    loss64 = f(x)
    (g64,) = torch.autograd.grad(loss64, x)
    return ok, g64


def make_fixture(kind, out_dir, seed):
    c = NerConfig(tiny_config(kind))
    model = TokenClassificationModel(c)
    tiny_init(model, seed)
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(c.raw, f, indent=2)
        f.write("\n")
    st_path = os.path.join(out_dir, "model.safetensors")
    write_safetensors(st_path, model.state_dict(), {"format": "pt"}, "F32")

    # reload through the loader (round trip of the writer/reader and of the key report)
    reloaded = TokenClassificationModel(c)
    state, _ = read_safetensors(st_path)
    rep = load_state_dict_like_hf(reloaded, state, source=st_path, verbose=False)
    assert not rep["missing"] and not rep["unexpected"], rep
    for k, v in model.state_dict().items():
        assert torch.equal(v, reloaded.state_dict()[k]), k
    model = reloaded.eval()

    batch = tiny_batch(kind)
    model.zero_grad()
    loss, logits = _forward_loss(model, batch)
    loss.backward()
    p = c.prefix
    named = dict(model.named_parameters())
    grads = OrderedDict()
    for tmpl in GRAD_PARAMS:
        name = tmpl.format(p=p)
        g = named[name].grad
        if name.endswith("word_embeddings.weight"):
            ids = sorted(set(batch["input_ids"].flatten().tolist()))
            grads[name] = OrderedDict((str(i), json_floats(g[i])) for i in ids)
        else:
            grads[name] = json_floats(g)

    # self-checks
    # (a) padding must not matter: each row alone (unpadded) gives the same logits
    with torch.no_grad():
        for r in range(3):
            n = int(batch["attention_mask"][r].sum())
            tt = batch["token_type_ids"][r:r + 1, :n] if "token_type_ids" in batch else None
            _, lr = model(batch["input_ids"][r:r + 1, :n], batch["attention_mask"][r:r + 1, :n], tt)
            d = (lr[0] - logits[r, :n]).abs().max().item()
            assert d < 1e-5, (kind, r, d)
    # (b) loss = mean CE over labelled tokens, computed by hand
    lab = batch["labels"]
    sel = lab != -100
    lp = torch.log_softmax(logits.double(), -1)
    manual = -lp[sel].gather(1, lab[sel].unsqueeze(1)).mean()
    assert abs(manual.item() - loss.item()) < 1e-6, (manual.item(), loss.item())
    # (c) gradcheck in float64 for one parameter, and fp32 grad vs fp64 grad
    gc_name = f"{p}.encoder.layer.0.attention.self.query.weight"
    ok, g64 = gradcheck_param(model, batch, gc_name)
    rel = ((named[gc_name].grad.double() - g64).abs().max() / g64.abs().max()).item()
    gc2 = "classifier.weight"
    ok2, g64b = gradcheck_param(model, batch, gc2)
    rel2 = ((named[gc2].grad.double() - g64b).abs().max() / g64b.abs().max()).item()

    expected = OrderedDict()
    expected["description"] = (
        f"{c.architecture} reference (tools/reference/ner_reference.py fixtures, seed {seed}); eval mode, "
        "dropout off, float32. loss = mean CE over labels != -100. grads of loss; word_embeddings grads "
        "only for the rows of ids that occur in input_ids, keyed by id.")
    expected["input_ids"] = batch["input_ids"].tolist()
    expected["attention_mask"] = batch["attention_mask"].tolist()
    if "token_type_ids" in batch:
        expected["token_type_ids"] = batch["token_type_ids"].tolist()
    if c.is_roberta:
        expected["position_ids"] = roberta_position_ids(batch["input_ids"], c.pad_token_id).tolist()
    expected["labels"] = batch["labels"].tolist()
    expected["logits"] = json_floats(logits)
    expected["loss"] = json_floats(loss)
    expected["grads"] = grads
    dump_json(expected, os.path.join(out_dir, "expected.json"))
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"[{kind}] {out_dir}: loss={loss.item()!r} logits[0,1]={logits[0, 1].tolist()}")
    print(f"[{kind}] self-checks: unpadded rows == padded rows (<1e-5); manual CE == loss; "
          f"gradcheck(float64) {gc_name}: {ok}, fp32 vs fp64 grad max rel diff {rel:.2e}; "
          f"gradcheck {gc2}: {ok2}, rel diff {rel2:.2e}")
    print(f"[{kind}] files: " + ", ".join(f"{f} {os.path.getsize(os.path.join(out_dir, f))} B"
                                          for f in sorted(os.listdir(out_dir))) + f"; total {size} B")


def cmd_fixtures(args):
    set_threads(1)
    base = args.out
    make_fixture("bert", os.path.join(base, "bert"), seed=args.seed)
    make_fixture("xlmr", os.path.join(base, "xlmr"), seed=args.seed + 1)


# --------------------------------------------------------------------------------------
# 6b. `hidden`: last hidden state of the real bge-small-zh-v1.5 encoder
# --------------------------------------------------------------------------------------

def torch_encoder_reference(model, ids, mask):
    """Second, independent encoder for self-checks: PyTorch's own post-norm
    nn.TransformerEncoderLayer (same math as a BERT layer) fed with the HF weights.
    Only the embeddings are shared with the reference model."""
    c, base = model.c, model.base
    x = base.embeddings(ids)
    for hl in base.encoder.layer:
        sa = getattr(hl.attention, "self")
        t = nn.TransformerEncoderLayer(c.hidden_size, c.num_attention_heads, c.intermediate_size, dropout=0.0,
                                       activation="gelu", layer_norm_eps=c.layer_norm_eps, batch_first=True).eval()
        with torch.no_grad():
            t.self_attn.in_proj_weight.copy_(torch.cat([sa.query.weight, sa.key.weight, sa.value.weight]))
            t.self_attn.in_proj_bias.copy_(torch.cat([sa.query.bias, sa.key.bias, sa.value.bias]))
            t.self_attn.out_proj.weight.copy_(hl.attention.output.dense.weight)
            t.self_attn.out_proj.bias.copy_(hl.attention.output.dense.bias)
            t.linear1.load_state_dict(hl.intermediate.dense.state_dict())
            t.linear2.load_state_dict(hl.output.dense.state_dict())
            t.norm1.load_state_dict(hl.attention.output.LayerNorm.state_dict())
            t.norm2.load_state_dict(hl.output.LayerNorm.state_dict())
        x = t(x, src_key_padding_mask=~mask.bool())
        if x.is_nested:
            x = x.to_padded_tensor(0.0, ids.shape + (c.hidden_size,))
    return x


def cmd_hidden(args):
    set_threads()
    with open(args.inputs, encoding="utf-8") as f:
        inp = json.load(f)
    model, report = load_pretrained(args.model)
    # the loader must have treated it as a base checkpoint: classifier new, nothing unexpected
    assert report["added_prefix"] == "bert", report
    assert report["missing"] == ["classifier.bias", "classifier.weight"], report
    assert not report["unexpected"], report

    ids = torch.tensor(inp["input_ids"])
    mask = torch.tensor(inp["attention_mask"])
    with torch.no_grad():
        h = model.base(ids, mask)  # [B, L, H], fp32
        # independent second computation: each sentence alone, unpadded, batch 1
        worst = 0.0
        for r in range(ids.shape[0]):
            n = int(mask[r].sum())
            h1 = model.base(ids[r:r + 1, :n], mask[r:r + 1, :n])[0]
            d = (h1 - h[r, :n]).abs().max().item()
            worst = max(worst, d)
            print(f"sentence {r}: {n} tokens, batch-1 unpadded vs padded batch max |diff| = {d:.3e}")
        assert worst < 1e-5, worst
        # and an fp64 run of the same weights, to show the fp32 numbers are accurate
        m64 = TokenClassificationModel(model.c)
        m64.load_state_dict(model.state_dict())
        m64 = m64.double().eval()
        h64 = m64.base(ids, mask)
        sel = mask.bool()
        d64 = (h64[sel] - h[sel].double()).abs().max().item()
        print(f"fp32 vs fp64 forward, non-padding positions: max |diff| = {d64:.3e}")
        # independent encoder: torch.nn.TransformerEncoderLayer (post-norm, gelu) with the same weights
        dti = (torch_encoder_reference(model, ids, mask)[sel] - h[sel]).abs().max().item()
        print(f"torch.nn.TransformerEncoderLayer stack vs this encoder, non-padding positions: max |diff| = {dti:.3e}")
        assert dti < 1e-4, dti

    sel = mask.bool()
    k = args.positions
    out = OrderedDict()
    out["description"] = (
        "Last hidden state (encoder output, no pooler, no head) of bge-small-zh-v1.5 loaded as "
        "BertForTokenClassification (F16 weights upcast to fp32), fp32 forward, eval mode, on the padded "
        f"batch of inputs.json. hidden: full rows for the first {k} positions of each sentence. "
        "row_sum / row_abs_sum: sum and sum of |x| over the hidden dim for every non-padding position. "
        "max_abs: over all non-padding positions; max_abs_padded_tensor: over the whole padded [B, L, H] tensor.")
    out["model"] = "bge-small-zh-v1.5"
    out["shape"] = list(h.shape)
    out["positions"] = k
    out["load_report"] = {kk: report[kk] for kk in ("added_prefix", "loaded", "missing", "unexpected", "ignored")}
    out["max_abs"] = json_floats(h[sel].abs().max())
    out["max_abs_padded_tensor"] = json_floats(h.abs().max())
    out["fp64_max_abs_diff"] = d64
    lengths = mask.sum(1).tolist()
    out["row_sum"] = [json_floats(h[r, :lengths[r]].sum(-1)) for r in range(h.shape[0])]
    out["row_abs_sum"] = [json_floats(h[r, :lengths[r]].abs().sum(-1)) for r in range(h.shape[0])]
    out["hidden"] = [json_floats(h[r, :min(k, lengths[r])]) for r in range(h.shape[0])]
    dump_json(out, args.out)
    print(f"hidden {list(h.shape)}, max_abs {out['max_abs']!r} (padded tensor {out['max_abs_padded_tensor']!r}), "
          f"h[0,0,:4] = {h[0, 0, :4].tolist()}")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} B)")


# --------------------------------------------------------------------------------------
# 6c. shared by `train` and `bench`: java.util.Random, optimizer, schedule, batches
# --------------------------------------------------------------------------------------

class JavaRandom:
    """java.util.Random, bit for bit (48-bit LCG): lets the reference walk the training data in
    exactly the order sparkner's Trainer does (Random(dataSeed * 1000003 + epoch), Fisher-Yates
    from the end) and initialise a new classifier with the same numbers as Checkpoints.map."""

    MULT, ADD, MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1

    def __init__(self, seed):
        self.seed = (seed ^ self.MULT) & self.MASK
        self._next_gaussian = None

    def _next(self, bits):
        self.seed = (self.seed * self.MULT + self.ADD) & self.MASK
        r = self.seed >> (48 - bits)
        return r - (1 << 32) if r >= (1 << 31) else r  # (int) cast

    def next_int(self, bound):
        r = self._next(31)
        m = bound - 1
        if bound & m == 0:
            return (bound * r) >> 31
        u = r
        while True:
            r = u % bound
            t = u - r + m
            if t >= (1 << 31):  # int overflow: reject, as Java does
                u = self._next(31)
                continue
            return r

    def next_double(self):
        return ((self._next(26) << 27) + self._next(27)) * (1.0 / (1 << 53))

    def next_gaussian(self):
        if self._next_gaussian is not None:
            g, self._next_gaussian = self._next_gaussian, None
            return g
        while True:
            v1 = 2 * self.next_double() - 1
            v2 = 2 * self.next_double() - 1
            s = v1 * v1 + v2 * v2
            if 0 < s < 1:
                break
        mul = math.sqrt(-2 * math.log(s) / s)
        self._next_gaussian = v2 * mul
        return v1 * mul


def java_epoch_order(n, data_seed, epoch):
    """Trainer.order: the permutation of an epoch."""
    r = JavaRandom(data_seed * 1_000_003 + epoch)
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = r.next_int(i + 1)
        p[i], p[j] = p[j], p[i]
    return p


def adamw_param_groups(model, weight_decay):
    """The HF Trainer's split: no weight decay for biases and LayerNorm parameters."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if name.endswith(".bias") or "LayerNorm" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def linear_schedule_with_warmup(optimizer, warmup, total):
    """transformers.get_linear_schedule_with_warmup."""
    def f(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, f)


def collate(windows, pad_id):
    """DataCollatorForTokenClassification: pad to the longest window of the batch (pad id,
    attention mask 0, label -100)."""
    n = max(len(w["input_ids"]) for w in windows)
    ids = torch.full((len(windows), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), n), dtype=torch.long)
    labels = torch.full((len(windows), n), -100, dtype=torch.long)
    for i, w in enumerate(windows):
        k = len(w["input_ids"])
        ids[i, :k] = torch.tensor(w["input_ids"])
        mask[i, :k] = 1
        labels[i, :k] = torch.tensor(w["labels"])
    return ids, mask, labels


def cpu_snapshot():
    """(wall, this process' CPU s, machine busy ticks) — as BenchEnv.Cpu on the Java side."""
    busy = -1
    try:
        with open("/proc/stat") as f:
            v = f.readline().split()
        busy = int(v[1]) + int(v[2]) + int(v[3]) + int(v[6]) + int(v[7])
    except (OSError, ValueError, IndexError):
        pass
    return time.perf_counter(), time.process_time(), busy


def cpu_since(start):
    wall, cpu, busy = cpu_snapshot()
    d = {"seconds": round(wall - start[0], 4), "process_cpu_s": round(cpu - start[1], 3)}
    if busy >= 0 and start[2] >= 0:
        d["other_processes_cpu_s"] = round(max(0.0, (busy - start[2]) * 0.01 - (cpu - start[1])), 3)
    return d


# --------------------------------------------------------------------------------------
# 6d. `train`: fine-tune on windows exported by sparkner (ExportWindows), score like Evaluator
# --------------------------------------------------------------------------------------

def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def tag_parts(tag):
    """Chunker.prefix / type: 'B-ORG-P' -> ('B', 'ORG-P'), 'O' -> ('O', '')."""
    if tag == "O":
        return "O", ""
    return tag[0], (tag[2:] if len(tag) > 2 else "_")


def chunks(tags, strict=False):
    """Chunker.chunks over tags with None = ignored position; DEFAULT is seqeval's default
    (conlleval) get_entities, strict is mode='strict', scheme=IOB2. Returns [(type, start, end)]
    over positions, end exclusive (one past the last scored token)."""
    out, open_, prev_p, prev_t = [], None, "O", ""
    for i, tag in enumerate(tags):
        if tag is None:
            continue
        p, t = tag_parts(tag)
        if strict:
            if p == "I" and open_ is not None and open_[0] == t:
                open_[2] = i
            else:
                if open_ is not None:
                    out.append((open_[0], open_[1], open_[2] + 1))
                open_ = [t, i, i] if p == "B" else None
        else:
            type_change = t != prev_t
            ends = (prev_p in "ES" or (prev_p in "BI" and p in "BSO") or (prev_p != "O" and type_change))
            starts = (p in "BS" or (p in "IE" and prev_p in "OES") or (p != "O" and type_change))
            if ends and open_ is not None:
                out.append((open_[0], open_[1], open_[2] + 1))
                open_ = None
            if starts:
                open_ = [t, i, i]
            elif p != "O" and open_ is not None:
                open_[2] = i
        prev_p, prev_t = p, t
    if open_ is not None:
        out.append((open_[0], open_[1], open_[2] + 1))
    return out


def spans(pred_ids, starts, ends, labels, strict=False):
    """Evaluator.spans: label ids (-100 = ignored) -> code-point spans; a chunk extends over
    following ignored tokens that touch it."""
    tags = [None if i < 0 else labels[i] for i in pred_ids]
    out = []
    for t, a, b in chunks(tags, strict):
        end = ends[b - 1]
        j = b
        while j < len(pred_ids) and pred_ids[j] < 0 and starts[j] == end and ends[j] > starts[j]:
            end = ends[j]
            j += 1
        out.append((t, starts[a], end))
    return out


class EntityCounts:
    """EntityScores: per type [correct, predicted, gold], seqeval semantics (sets per document)."""

    def __init__(self):
        self.counts = {}

    def add(self, gold, predicted):
        g, p = set(gold), set(predicted)
        for c in g:
            n = self.counts.setdefault(c[0], [0, 0, 0])
            n[2] += 1
            n[0] += c in p
        for c in p:
            self.counts.setdefault(c[0], [0, 0, 0])[1] += 1

    @staticmethod
    def scores(correct, predicted, gold):
        p = correct / predicted if predicted else 0.0
        r = correct / gold if gold else 0.0
        return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": gold,
                "predicted": predicted, "correct": correct}

    def to_json(self):
        tot = [sum(n[k] for n in self.counts.values()) for k in range(3)]
        per = {t: self.scores(*self.counts[t]) for t in sorted(self.counts)}
        macro_f1 = sum(s["f1"] for s in per.values()) / len(per) if per else 0.0
        return {"micro": self.scores(*tot), "macro_f1": macro_f1, "per_type": per}


@torch.no_grad()
def evaluate_windows(model, windows, gold_docs, labels, pad_id, batch_size=32):
    """Evaluator.evaluate: predict every window (eval mode), keep each token's prediction from the
    window where it is most central, score decoded spans against the documents' gold spans."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]["input_ids"]))
    preds = [None] * len(windows)
    for b in range(0, len(order), batch_size):
        part = [windows[i] for i in order[b:b + batch_size]]
        ids, mask, _ = collate(part, pad_id)
        _, logits = model(ids, mask)
        am = logits.argmax(-1).tolist()
        for k, i in enumerate(order[b:b + batch_size]):
            preds[i] = am[k][:len(windows[i]["input_ids"])]
    merged = {}
    for w, pred in zip(windows, preds):
        content = sum(1 for s in w["starts"] if s >= 0)
        toks = merged.setdefault(w["id"], {})
        pos = 0
        for i in range(len(w["input_ids"])):
            if w["starts"][i] < 0:
                continue
            centrality = min(pos, content - 1 - pos)
            pos += 1
            key = (w["starts"][i], w["ends"][i])
            prev = toks.get(key)
            if prev is None or centrality > prev[4]:
                toks[key] = (w["starts"][i], w["ends"][i], w["labels"][i], pred[i], centrality)
    standard, strict = EntityCounts(), EntityCounts()
    tok_total = tok_correct = 0
    for doc in gold_docs:
        toks = [merged.get(doc["id"], {})[k] for k in sorted(merged.get(doc["id"], {}))]
        starts = [t[0] for t in toks]
        ends = [t[1] for t in toks]
        pred_ids = [-100 if t[2] < 0 else t[3] for t in toks]
        for t in toks:
            if t[2] >= 0:
                tok_total += 1
                tok_correct += t[2] == t[3]
        gold = [(e["type"], e["start"], e["end"]) for e in doc["entities"]]
        standard.add(gold, spans(pred_ids, starts, ends, labels))
        strict.add(gold, spans(pred_ids, starts, ends, labels, strict=True))
    model.train(was_training)
    return {"seqeval_default": standard.to_json(), "seqeval_strict": strict.to_json(),
            "token_accuracy": tok_correct / max(1, tok_total), "documents": len(gold_docs)}


def load_for_training(model_dir, labels, seed, dropout=None, init="java"):
    """from_pretrained with the corpus' labels; a new classifier initialised as sparkner's
    Checkpoints.map does (init='java': java.util.Random(seed) gaussians × initializer_range, bias 0)
    or as transformers does (init='torch')."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        d = json.load(f)
    old = d.get("id2label")
    d["id2label"] = {str(i): l for i, l in enumerate(labels)}
    d["label2id"] = {l: i for i, l in enumerate(labels)}
    if dropout is not None:
        d["hidden_dropout_prob"] = dropout
        d["attention_probs_dropout_prob"] = dropout
    c = NerConfig(d)
    model = TokenClassificationModel(c)
    state, _ = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    keep_head = old is not None and [old[str(i)] for i in range(len(old))] == list(labels)
    if not keep_head:
        state = OrderedDict((k, v) for k, v in state.items() if not k.startswith("classifier."))
    report = load_state_dict_like_hf(model, state, source=model_dir, seed=seed)
    if "classifier.weight" in report["missing"] and init == "java":
        r = JavaRandom(seed)
        w = torch.tensor([float(np.float32(r.next_gaussian() * c.initializer_range))
                          for _ in range(c.num_labels * c.hidden_size)], dtype=torch.float32)
        with torch.no_grad():
            model.classifier.weight.copy_(w.view(c.num_labels, c.hidden_size))
            model.classifier.bias.zero_()
    return model, report


def cmd_train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(os.path.join(args.data, "labels.json"), encoding="utf-8") as f:
        labels = json.load(f)["labels"]
    train = read_jsonl(os.path.join(args.data, "windows-train.jsonl"))
    val_w = read_jsonl(os.path.join(args.data, "windows-validation.jsonl"))
    val_g = read_jsonl(os.path.join(args.data, "gold-validation.jsonl"))
    test_w = read_jsonl(os.path.join(args.data, "windows-test.jsonl"))
    test_g = read_jsonl(os.path.join(args.data, "gold-test.jsonl"))
    model, _ = load_for_training(args.model, labels, args.seed, args.dropout, args.init)
    pad_id = model.c.pad_token_id
    model.train()
    opt = torch.optim.AdamW(adamw_param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = (len(train) + args.batch_size - 1) // args.batch_size
    total = steps_per_epoch * args.epochs
    warmup = math.ceil(args.warmup_ratio * total)
    if args.max_steps:  # smoke tests: the same schedule, cut short
        steps_per_epoch = min(steps_per_epoch, args.max_steps)
    sched = linear_schedule_with_warmup(opt, warmup, total)
    os.makedirs(args.output, exist_ok=True)
    mlog = open(os.path.join(args.output, "metrics.jsonl"), "w", encoding="utf-8")
    print(f"training: {len(train)} windows, {total} steps ({args.epochs} epochs x {steps_per_epoch}), batch "
          f"{args.batch_size}, lr {args.lr:.2e}, warmup {warmup}, threads {torch.get_num_threads()}, torch {torch.__version__}",
          flush=True)
    t_start = time.perf_counter()
    step, interval, epochs_out = 0, [], []
    for epoch in range(args.epochs):
        if args.order == "java":
            order = java_epoch_order(len(train), args.seed, epoch)
        else:
            order = torch.randperm(len(train), generator=torch.Generator().manual_seed(args.seed * 1_000_003 + epoch)).tolist()
        t_epoch = time.perf_counter()
        for b in range(steps_per_epoch):
            batch = [train[i] for i in order[b * args.batch_size:(b + 1) * args.batch_size]]
            ids, mask, lab = collate(batch, pad_id)
            lr = opt.param_groups[0]["lr"]
            loss, _ = model(ids, mask, labels=lab)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            interval.append(loss.item())
            if step % args.logging_steps == 0 or step == total or b + 1 == steps_per_epoch:
                rec = {"step": step, "epoch": round(epoch + (b + 1) / steps_per_epoch, 4),
                       "loss": sum(interval) / len(interval), "learning_rate": lr, "grad_norm": float(norm),
                       "elapsed_s": round(time.perf_counter() - t_start, 2)}
                interval = []
                mlog.write(json.dumps(rec) + "\n")
                mlog.flush()
                print(json.dumps(rec), flush=True)
        train_s = time.perf_counter() - t_epoch
        ev = evaluate_windows(model, val_w, val_g, labels, pad_id)
        rec = {"step": step, "epoch": epoch, "eval_precision": ev["seqeval_default"]["micro"]["precision"],
               "eval_recall": ev["seqeval_default"]["micro"]["recall"], "eval_f1": ev["seqeval_default"]["micro"]["f1"],
               "eval_strict_f1": ev["seqeval_strict"]["micro"]["f1"], "eval_token_accuracy": ev["token_accuracy"],
               "epoch_train_s": round(train_s, 1), "elapsed_s": round(time.perf_counter() - t_start, 1)}
        epochs_out.append(rec)
        mlog.write(json.dumps(rec) + "\n")
        mlog.flush()
        print(json.dumps(rec), flush=True)
    train_wall = time.perf_counter() - t_start
    t_eval = time.perf_counter()
    test = evaluate_windows(model, test_w, test_g, labels, pad_id)
    report = {"model": args.model, "data": args.data, "split": "test", "torch": torch.__version__,
              "threads": torch.get_num_threads(), "steps": step, "epochs": args.epochs,
              "train_wall_s": round(train_wall, 1), "test_eval_s": round(time.perf_counter() - t_eval, 1),
              "validation": epochs_out, **test,
              "hyper_parameters": {k: getattr(args, k) for k in ("lr", "batch_size", "weight_decay", "warmup_ratio",
                                                               "epochs", "max_grad_norm", "seed", "dropout", "order", "init")}}
    with open(os.path.join(args.output, "report.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    mlog.close()
    d = test["seqeval_default"]
    print(f"{'':14s} {'precision':>9s} {'recall':>9s} {'f1':>9s} {'support':>9s}")
    for t, s in d["per_type"].items():
        print(f"{t:14s} {s['precision']:9.4f} {s['recall']:9.4f} {s['f1']:9.4f} {s['support']:9d}")
    m = d["micro"]
    print(f"{'micro avg':14s} {m['precision']:9.4f} {m['recall']:9.4f} {m['f1']:9.4f} {m['support']:9d}")
    print(f"strict micro f1 {test['seqeval_strict']['micro']['f1']:.4f}, token accuracy {test['token_accuracy']:.4f}, "
          f"train wall {train_wall:.1f} s")
    if args.save:
        save_pretrained(model, os.path.join(args.output, "model"))


# --------------------------------------------------------------------------------------
# 6e. `bench`: seconds per full training step of a BERT-shaped model, random init
# --------------------------------------------------------------------------------------

def bench_config(a):
    return NerConfig({
        "model_type": "bert", "vocab_size": a.vocab, "hidden_size": a.hidden, "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads, "intermediate_size": a.intermediate, "max_position_embeddings": 512,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "hidden_dropout_prob": a.dropout,
        "attention_probs_dropout_prob": a.dropout, "initializer_range": 0.02, "pad_token_id": 0,
        "id2label": {str(i): f"L{i}" for i in range(a.labels)}})


def cmd_bench(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    c = bench_config(a)
    model = TokenClassificationModel(c)
    model.init_weights_like_hf(a.seed)
    model.train()
    g = torch.Generator().manual_seed(a.seed)
    n = a.warmup + a.steps
    # fixed-length windows, no padding: [CLS] x (length-2) [SEP], labels -100 on the specials
    ids = torch.randint(5, a.vocab, (n, a.batch, a.length), generator=g)
    ids[:, :, 0], ids[:, :, -1] = 2, 3
    labels = torch.randint(0, a.labels, (n, a.batch, a.length), generator=g)
    labels[:, :, 0] = labels[:, :, -1] = -100
    opt = torch.optim.AdamW(adamw_param_groups(model, 0.01), lr=5e-5, betas=(0.9, 0.999), eps=1e-8)
    sched = linear_schedule_with_warmup(opt, math.ceil(0.1 * n), n)
    times, losses = [], []
    t0 = cpu_snapshot()
    for s in range(n):
        if s == a.warmup:
            t0 = cpu_snapshot()
        t = time.perf_counter()
        x = ids[s].clone()
        mask = torch.ones_like(x)
        loss, _ = model(x, mask, labels=labels[s].clone())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        times.append(time.perf_counter() - t)
    cpu = cpu_since(t0)
    timed = sorted(times[a.warmup:])
    k = len(timed)
    med = timed[k // 2] if k % 2 else (timed[k // 2 - 1] + timed[k // 2]) / 2
    out = {"side": "python", "torch": torch.__version__, "threads": torch.get_num_threads(),
           "interop_threads": torch.get_num_interop_threads(),
           "parameters": sum(p.numel() for p in model.parameters()), "warmup": a.warmup, "steps": a.steps,
           "median_s": round(med, 4), "min_s": round(timed[0], 4), "max_s": round(timed[-1], 4),
           "step_s": [round(x, 4) for x in times], "loss_first": losses[0], "loss_last": losses[-1], "cpu": cpu}
    print(json.dumps(out) if a.json else json.dumps(out, indent=2), flush=True)


# --------------------------------------------------------------------------------------
# 7. CLI
# --------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("fixtures", help="write the tiny BERT / XLM-R parity fixtures")
    p.add_argument("--out", default=os.path.join(REPO, "src/test/resources/parity"))
    p.add_argument("--seed", type=int, default=20240601)
    p.set_defaults(func=cmd_fixtures)

    p = sub.add_parser("hidden", help="last hidden state of a real checkpoint (bge-small-zh-v1.5)")
    p.add_argument("--model", default=os.path.join(os.path.dirname(REPO), "shared/models/bge-small-zh-v1.5"))
    p.add_argument("--inputs", default=os.path.join(REPO, "src/test/resources/parity/bge/inputs.json"))
    p.add_argument("--out", default=os.path.join(REPO, "src/test/resources/parity/bge/expected_hidden.json"))
    p.add_argument("--positions", type=int, default=12, help="full rows stored for this many leading positions")
    p.set_defaults(func=cmd_hidden)

    p = sub.add_parser("train", help="fine-tune on windows exported by sparkner (ExportWindows), score the test split")
    p.add_argument("--data", required=True, help="ExportWindows output: labels.json, windows-SPLIT.jsonl, gold-SPLIT.jsonl")
    p.add_argument("--model", required=True, help="HF checkpoint directory (config.json, model.safetensors)")
    p.add_argument("--output", required=True, help="metrics.jsonl, report.json (and model/ with --save)")
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--dropout", type=float, default=None, help="override hidden/attention dropout (default: the config's)")
    p.add_argument("--order", choices=["java", "torch"], default="java",
                   help="epoch order: sparkner Trainer's java.util.Random permutation (default) or torch.randperm")
    p.add_argument("--init", choices=["java", "torch"], default="java",
                   help="new classifier init: as sparkner's Checkpoints.map (default) or HF _init_weights with torch RNG")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--logging-steps", type=int, default=50)
    p.add_argument("--save", action="store_true", help="also save the fine-tuned checkpoint")
    p.add_argument("--max-steps", type=int, default=0, help="smoke test: at most this many steps per epoch")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("bench", help="seconds per training step (forward, CE, backward, clip, AdamW, zero_grad)")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--intermediate", type=int, default=3072)
    p.add_argument("--vocab", type=int, default=21128)
    p.add_argument("--labels", type=int, default=17)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json", action="store_true", help="one JSON line on stdout")
    p.set_defaults(func=cmd_bench)

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
