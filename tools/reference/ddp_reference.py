#!/usr/bin/python3
"""Data-parallel training with PyTorch DistributedDataParallel: the peer of `sparkner train --replicas N`.

What a PyTorch user writes to fine-tune a token classifier on N CPU processes, on the model classes
of ner_reference.py (HF semantics and parameter names):

  /usr/bin/python3 tools/reference/ddp_reference.py train --nproc N --data DIR --model DIR \\
      --global-batch 16 --max-steps 10 ...        # N processes; --nproc 1: one process, no DDP (as HF's Trainer)

- N processes started with torch.multiprocessing.spawn, as in PyTorch's DDP tutorial (MASTER_ADDR
  127.0.0.1, MASTER_PORT a free port), or by torchrun when its environment is there (RANK,
  WORLD_SIZE, ...; Debian's torchrun 1.13 fails on Python 3.11 in Std.from_str, hence spawn);
  torch.distributed.init_process_group("gloo", init_method="env://");
  DistributedDataParallel(model) with its defaults (bucket_cap_mb 25, gradients averaged over ranks,
  all-reduce overlapped with the backward pass);
- a Dataset of the exported training windows, DistributedSampler (rank r takes r, r+N, r+2N, ...),
  DataLoader(batch_size = global batch / N, num_workers 0) with DataCollatorForTokenClassification's
  padding (to the longest window of the micro batch; pad id, mask 0, label -100);
- torch.optim.AdamW with the HF Trainer's parameter groups (no weight decay for biases and LayerNorm),
  get_linear_schedule_with_warmup, mean CE over labelled tokens (ignore_index -100),
  clip_grad_norm_(1.0), zero_grad(set_to_none=True); torch.set_num_threads(--threads) per process.

`--order java` (the benchmark's setting) presents the windows to the sampler in the permutation
sparkner's Trainer walks (DataOrder.shuffled, a bit-exact java.util.Random port) and the sampler
deals them out unshuffled: DistributedSampler's round-robin deal is exactly DataOrder.share, so
every rank trains the same micro batch as sparkner's rank of the same number, step by step.
`--order torch` is the stock DistributedSampler(shuffle=True, seed) / RandomSampler.

`check` runs the same `train` with one process and with N = 2 processes on fixed-length synthetic
windows, dropout 0, and checks that they are the same computation: the same global loss at every
step and the same weights at the end, both ranks in sync, disjoint shares covering the global batch.
"""

import argparse
import faulthandler
import hashlib
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time

import threading

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, SequentialSampler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ner_reference as ref  # noqa: E402  (the model classes and helpers)


class Windows(Dataset):
    """The training windows, optionally presented in a fixed permutation."""

    def __init__(self, windows, order=None):
        self.windows = windows
        self.order = order

    def __len__(self):
        return len(self.windows)

    def __getitem__(self, i):
        return self.windows[self.order[i] if self.order is not None else i]


def collate_for(pad_id):
    def collate(batch):
        ids, mask, labels = ref.collate(batch, pad_id)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels,
                "positions": [w.get("position", -1) for w in batch]}
    return collate


def synthetic_windows(n, length, vocab, labels, seed):
    """Fixed-length windows: [CLS]=2, random ids, [SEP]=3; random labels, -100 on the specials."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (n, length), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3
    lab = torch.randint(0, labels, (n, length), generator=g)
    lab[:, 0] = lab[:, -1] = -100
    return [{"input_ids": ids[i].tolist(), "labels": lab[i].tolist()} for i in range(n)]


def tiny_check_model(seed, labels):
    c = ref.NerConfig({
        "model_type": "bert", "vocab_size": 200, "hidden_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 64,
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "pad_token_id": 0,
        "id2label": {str(i): f"L{i}" for i in range(labels)}})
    m = ref.TokenClassificationModel(c)
    m.init_weights_like_hf(seed)
    return m


def parameter_digest(model):
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def cmd_train(a):
    if "WORLD_SIZE" in os.environ:  # started by torchrun
        return train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), a)
    if a.nproc == 1:
        return train(0, 1, a)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(free_port())
    mp.spawn(spawned, args=(a.nproc, a, os.getpid()), nprocs=a.nproc, join=True)
    return 0


def spawned(rank, world, a, parent):
    # a rank outlives no launcher: if the process that spawned it goes away (killed), so does the rank
    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(3)
            time.sleep(1)
    threading.Thread(target=watch, daemon=True).start()
    train(rank, world, a)


def train(rank, world, a):
    distributed = world > 1
    if a.timeout:  # a C watchdog (needs no GIL): print every thread's stack and exit 1
        faulthandler.dump_traceback_later(a.timeout, exit=True)
    torch.set_num_threads(a.threads)
    if distributed:
        dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)
    torch.manual_seed(a.seed)
    if a.global_batch % world:
        raise SystemExit(f"--global-batch {a.global_batch} is not divisible by {world} processes")
    micro = a.global_batch // world

    if a.synthetic:
        n_labels = 5
        windows = synthetic_windows(a.global_batch * a.max_steps, a.synthetic, 200, n_labels, a.seed)
        model = tiny_check_model(a.seed, n_labels)
        pad_id = 0
    else:
        with open(os.path.join(a.data, "labels.json"), encoding="utf-8") as f:
            labels = json.load(f)["labels"]
        windows = ref.read_jsonl(os.path.join(a.data, "windows-train.jsonl"))
        model, _ = ref.load_for_training(a.model, labels, a.seed, a.dropout, init="java")
        pad_id = model.c.pad_token_id
    for i, w in enumerate(windows):
        w["position"] = i  # which window (for the check: the ranks' shares)
    model.train()
    params = sum(p.numel() for p in model.parameters())
    init_state = {k: v.clone() for k, v in model.state_dict().items()} if a.save_weights else None

    def epoch_dataset(epoch):
        if a.order == "java":
            return Windows(windows, ref.java_epoch_order(len(windows), a.seed, epoch))
        return Windows(windows)

    def loader_for(dataset, epoch):
        shuffle = a.order == "torch"
        if distributed:
            sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=a.seed)
            sampler.set_epoch(epoch)
        elif shuffle:
            sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(a.seed + epoch))
        else:
            sampler = SequentialSampler(dataset)
        return DataLoader(dataset, batch_size=micro, sampler=sampler, collate_fn=collate_for(pad_id),
                          num_workers=0, drop_last=False)

    net = DistributedDataParallel(model) if distributed else model
    opt = torch.optim.AdamW(ref.adamw_param_groups(model, a.weight_decay), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    sched = ref.linear_schedule_with_warmup(opt, math.ceil(a.warmup_ratio * a.max_steps), a.max_steps)

    if distributed:
        dist.barrier()  # start the clock together
    rec = {"step_s": [], "loss": [], "labelled": [], "tokens": [], "positions": []}
    cpu0 = cpu1 = None
    t_prev = time.perf_counter()
    step, epoch = 0, 0
    while step < a.max_steps:
        for batch in loader_for(epoch_dataset(epoch), epoch):
            if step == a.warmup_steps:
                cpu0 = ref.cpu_snapshot()
            loss, _ = net(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), a.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            rec["loss"].append(loss.item())
            now = time.perf_counter()  # the step from the fetch of its batch to here
            rec["step_s"].append(now - t_prev)
            t_prev = now
            rec["labelled"].append(int((batch["labels"] != -100).sum()))
            rec["tokens"].append(int(batch["attention_mask"].sum()))
            rec["positions"].append(batch["positions"])
            step += 1
            if step == a.max_steps:
                break
        epoch += 1
    cpu1 = ref.cpu_snapshot()
    if cpu0 is None:
        cpu0 = cpu1
    rec["cpu"] = {"seconds": cpu1[0] - cpu0[0], "process_cpu_s": cpu1[1] - cpu0[1], "busy_ticks": cpu1[2] - cpu0[2]}
    rec["digest"] = parameter_digest(model)
    if a.save_weights and rank == 0:
        torch.save({"init": init_state, "end": model.state_dict()}, a.save_weights)
    rec["threads"] = torch.get_num_threads()
    rec["pid"] = os.getpid()
    ranks = [None] * world
    if distributed:
        dist.all_gather_object(ranks, rec)
    else:
        ranks[0] = rec
    if rank == 0:
        out = summarize(a, ranks, world, micro, params)
        text = json.dumps(out)
        if a.out:
            with open(a.out, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        print(text, flush=True)
    if distributed:
        dist.barrier()  # every rank's result is out
        # leave without tearing the group down: on Debian's torch 1.13 freeing DDP's Reducer and the
        # gloo group can deadlock (~ProcessGroupGloo joins a gloo worker thread that waits for the
        # GIL the freeing thread holds; seen under load), and there is nothing left to release
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def summarize(a, ranks, world, micro, params):
    steps = len(ranks[0]["step_s"])
    tokens = [sum(r["tokens"][s] for r in ranks) for s in range(steps)]
    labelled = [sum(r["labelled"][s] for r in ranks) for s in range(steps)]
    # the loss over the global batch (labelled-token mean, as sparkner logs it) and the mean of the
    # ranks' means (what DDP's averaged gradient is the gradient of)
    global_loss = [sum(r["loss"][s] * r["labelled"][s] for r in ranks) / max(1, labelled[s]) for s in range(steps)]
    rank_mean_loss = [sum(r["loss"][s] for r in ranks) / world for s in range(steps)]
    step_s = ranks[0]["step_s"]  # rank 0's clock, as sparkner's metrics.jsonl
    steady = range(a.warmup_steps, steps)
    st = sum(step_s[s] for s in steady)
    tk = sum(tokens[s] for s in steady)
    cpu = ranks[0]["cpu"]
    ranks_cpu = sum(r["cpu"]["process_cpu_s"] for r in ranks)
    other = max(0.0, cpu["busy_ticks"] * 0.01 - ranks_cpu) if cpu["busy_ticks"] >= 0 else None
    return {
        "side": "ddp" if world > 1 else "single", "processes": world, "torch": torch.__version__,
        "backend": "gloo" if world > 1 else None, "threads_per_process": ranks[0]["threads"],
        "interop_threads": torch.get_num_interop_threads(), "parameters": params,
        "global_batch": a.global_batch, "micro_batch": micro, "order": a.order,
        "steps": steps, "warmup_steps": a.warmup_steps, "steady_steps": len(steady),
        "step_s": [round(x, 5) for x in step_s], "tokens": tokens, "labelled": labelled,
        "global_loss": global_loss, "rank_mean_loss": rank_mean_loss,
        "steady_tokens": tk, "steady_seconds": round(st, 5),
        "steady_tokens_per_second": round(tk / st, 3) if st > 0 else None,
        "steady_window": {"seconds": round(cpu["seconds"], 4), "ranks_cpu_s": round(ranks_cpu, 3),
                          "other_processes_cpu_s": None if other is None else round(other, 3)},
        "digests": [r["digest"] for r in ranks],
        "shares": [[r["positions"][s] for r in ranks] for s in range(steps)],
        "pids": [r["pid"] for r in ranks],
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(nproc, args, out):
    """`train --nproc N` in a fresh interpreter; returns the JSON rank 0 wrote."""
    cmd = [sys.executable, os.path.abspath(__file__), "train", "--nproc", str(nproc)]
    subprocess.run(cmd + args + ["--out", out], check=True, stdout=subprocess.DEVNULL)
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def cmd_check(a):
    """N = 1 and N = 2 on the same global batches must be the same computation."""
    common = ["--synthetic", str(a.length), "--global-batch", str(a.global_batch), "--max-steps", str(a.steps),
              "--warmup-steps", "0", "--lr", str(a.lr), "--warmup-ratio", "0", "--threads", "1", "--seed", "7"]
    with tempfile.TemporaryDirectory() as d:
        one = launch(1, common + ["--save-weights", os.path.join(d, "w1.pt")], os.path.join(d, "n1.json"))
        two = launch(2, common + ["--save-weights", os.path.join(d, "w2.pt")], os.path.join(d, "n2.json"))
        w1 = torch.load(os.path.join(d, "w1.pt"))
        w2 = torch.load(os.path.join(d, "w2.pt"))
    def norm(f):
        return math.sqrt(sum(float((f(k) ** 2).sum()) for k in w1["end"]))
    moved = norm(lambda k: w1["end"][k] - w1["init"][k])
    wdiff = norm(lambda k: w1["end"][k] - w2["end"][k])
    same_init = all(torch.equal(w1["init"][k], w2["init"][k]) for k in w1["init"])
    dl = [abs(x - y) for x, y in zip(one["global_loss"], two["global_loss"])]
    shares_ok = all(
        not (set(s[0]) & set(s[1])) and sorted(s[0] + s[1]) == sorted(t[0])
        for s, t in zip(two["shares"], one["shares"]))
    report = {
        "steps": a.steps, "global_batch": a.global_batch, "length": a.length,
        "loss_n1": one["global_loss"], "loss_n2": two["global_loss"], "max_abs_loss_diff": max(dl),
        "loss_drop_n1": one["global_loss"][0] - one["global_loss"][-1],
        "same_initial_weights": same_init, "weight_change_l2_n1": moved,
        "weight_diff_l2_n1_vs_n2": wdiff, "weight_diff_over_change": wdiff / moved,
        "digest_n1": one["digests"][0], "digests_n2": two["digests"],
        "ranks_in_sync": len(set(two["digests"])) == 1,
        "shares_disjoint_and_cover_global_batch": shares_ok,
        "rank_shares_step_1": two["shares"][0],
    }
    # the weights after `steps` updates are equal to float rounding (the summation order differs), so
    # they are compared numerically against how far training moved them; the digests show the ranks agree
    report["ok"] = (report["ranks_in_sync"] and shares_ok and same_init and max(dl) < 1e-4 and dl[0] < 1e-6
                    and wdiff < 1e-3 * moved)
    print(json.dumps(report, indent=None if a.json else 2), flush=True)
    return 0 if report["ok"] else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("train", help="data-parallel training over --nproc processes; JSON of the steps")
    p.add_argument("--nproc", type=int, default=1, help="processes (1: no DDP, one process)")
    p.add_argument("--data", help="ExportWindows output: labels.json, windows-train.jsonl")
    p.add_argument("--model", help="HF checkpoint directory (config.json, model.safetensors)")
    p.add_argument("--synthetic", type=int, default=0, metavar="LENGTH",
                   help="fixed-length random windows and a tiny model instead of --data/--model (the check)")
    p.add_argument("--global-batch", type=int, default=16)
    p.add_argument("--max-steps", type=int, default=10)
    p.add_argument("--warmup-steps", type=int, default=2, help="steps left out of the steady-state figures")
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--dropout", type=float, default=None, help="override hidden/attention dropout (default: the config's)")
    p.add_argument("--order", choices=["java", "torch"], default="java")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1, help="intra-op threads per process")
    p.add_argument("--out", help="also write the JSON here (rank 0)")
    p.add_argument("--timeout", type=int, default=1800, help="a rank still running after this many seconds prints its stacks and exits 1 (0: never)")
    p.add_argument("--save-weights", help="torch.save the initial and final state_dict here (rank 0; the check)")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("check", help="N = 1 vs N = 2 processes on the same global batches: same losses, ranks in sync")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--global-batch", type=int, default=8)
    p.add_argument("--length", type=int, default=24)
    p.add_argument("--lr", type=float, default=1e-2, help="large, so that the weights move far in a few steps")
    p.add_argument("--json", action="store_true", help="one JSON line")
    p.set_defaults(func=cmd_check)
    a = ap.parse_args(argv)
    if a.cmd == "train" and not a.synthetic and not (a.data and a.model):
        ap.error("train needs --data and --model (or --synthetic LENGTH)")
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
