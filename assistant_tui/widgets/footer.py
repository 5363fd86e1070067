"""Textual's Footer, without the leak of its old keys.

Footer recomposes on every bindings change (each focus change, so each save
and each opened task), and every `FooterKey` it yields is `data_bind`-ed to
`Footer.compact`: the binding is a watcher kept in the Footer's own watcher
list, which Textual prunes only when `compact` changes. So the removed keys
(about 28 per save, each with its styles and caches) stayed alive for the
whole session. After each recompose we drop the watchers of keys that have
been removed.
"""

from __future__ import annotations

from textual.widgets import Footer


class LeanFooter(Footer):
    async def recompose(self) -> None:
        await super().recompose()
        self._forget_removed_keys()

    def _forget_removed_keys(self) -> None:
        # Textual keeps watchers in a name-mangled-looking instance attribute.
        watchers = getattr(self, "__watchers", None)
        if not watchers:
            return
        for entries in watchers.values():
            entries[:] = [
                (node, callback)
                for node, callback in entries
                if not getattr(node, "_closing", False) and not getattr(node, "_closed", False)
            ]
