"""What zoo holds, as rows for ``zoo list`` (and anyone): the registered models, the pretrained tags with their test
accuracy, and the datasets."""

from __future__ import annotations

from typing import Any

from zoo import data, models
from zoo.pretrained import tag_rows


def listing() -> dict[str, list[dict[str, Any]]]:
    """``{"models": [...], "pretrained": [...], "datasets": [...]}``, each a list of plain rows."""
    return {
        "models": [
            {
                "name": name,
                "params": config.params,
                "input_shape": list(config.input_shape),
                "num_classes": config.num_classes,
                "default_dataset": config.default_dataset,
                "description": config.description,
            }
            for name, config in ((n, models.get_config(n)) for n in models.list_models())
        ],
        "pretrained": tag_rows(),
        "datasets": [
            {"name": i.name, "input_shape": list(i.input_shape), "num_classes": i.num_classes}
            for i in (data.get_info(n) for n in data.list_datasets())
        ],
    }
