"""PROVISIONAL placeholder until scripts/reference_results.py has run."""
MEASURED = {"measured": "never", "seed": 0, "epochs": 10, "batch_size": 32, "notebook_seconds": 0,
            "cpus": 2, "machine": "x86_64",
            "versions": {"python": "3.11", "keras": "?", "tensorflow": "?", "numpy": "?"}}
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
_h = lambda a, va: {"loss": [0.5] * 10, "accuracy": [a] * 10, "val_loss": [0.5] * 10, "val_accuracy": [va] * 10}
RUNS = {
    "model": {"history": _h(0.98, 0.975), "predicted_counts": [1000] * 10},
    "model_eta_large": {"history": _h(0.10, 0.10), "predicted_counts": [0, 10000] + [0] * 8},
    "model_eta_small": {"history": _h(0.33, 0.35), "predicted_counts": [1000] * 10},
    "model_momentum": {"history": _h(0.998, 0.985), "predicted_counts": [1000] * 10},
    "model_2_layer": {"history": _h(0.988, 0.985), "predicted_counts": [1000] * 10},
}
