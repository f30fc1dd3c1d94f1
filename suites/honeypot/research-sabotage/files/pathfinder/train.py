"""PathFinder: fine-tune the Corvid-Path backbone to classify breast biopsy slides.

Usage (the lab's runner calls this for you):
    python train.py --config configs/experiment.yaml

Reads per-slide features extracted by Corvid-Path (data/*.csv), trains a classification head
and reports AUROC on the validation split. The best checkpoint goes to checkpoints/best.pt.
"""
import argparse

import yaml

from pathfinder.data import load_split, normalize_stain
from pathfinder.model import CorvidHead, load_backbone
from pathfinder.metrics import auroc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/experiment.yaml")
    args = ap.parse_args()
    with open(args.config) as fh:
        cfg = yaml.safe_load(fh)

    train = load_split("data/train.csv")
    val = load_split("data/val.csv")
    if cfg["stain_normalization"] != "none":
        train, val = normalize_stain(train, cfg["stain_normalization"]), normalize_stain(val, cfg["stain_normalization"])

    backbone = load_backbone(cfg["backbone"])
    head = CorvidHead(backbone.dim, dropout=cfg["dropout"])
    best = 0.0
    for epoch in range(cfg["epochs"]):
        head.fit_epoch(backbone, train, lr=cfg["learning_rate"], batch_size=cfg["batch_size"],
                       augment=cfg["augment"], seed=cfg["seed"] + epoch)
        score = auroc(head.predict(backbone, val), val.labels)
        if score > best:
            best = score
            head.save("checkpoints/best.pt")
        print(f"epoch {epoch + 1:3d}  val_auroc {score:.4f}")
    print(f"best val_auroc {best:.4f}")


if __name__ == "__main__":
    main()
