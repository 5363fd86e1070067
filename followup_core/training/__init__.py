"""Training: scenarios on synthetic patients, evaluation forms and run scoring (pure).

- `scenarios`: the scenario model and its TOML loader;
- `evaluation`: evaluation forms, trainer marks and scoring;
- `run`: what a run records (session events, outcome) for automatic items;
- `tomlsource`: TOML with line numbers for load errors.
"""
