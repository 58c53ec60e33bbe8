"""Search in the catalog index: which products match the words of a query, in
tiers of relevance, and the query with its typing mistakes corrected.

`SearchIndex` holds the word tables that `shop.catalog.index.CatalogIndex`
(its subclass) fills while it loads and keeps up with the database: per folded
word, the bitmaps of products having it in the name and in the rest of their
text, plus name bigrams and first words.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from pyroaring import BitMap
from symspellpy import SymSpell, Verbosity

MAX_PHRASE_CHECKS = 20_000  # candidates read for "the words side by side in the text"
MAX_PREFIX_WORDS = 2000  # a one-letter prefix does not fan out to the whole vocabulary


class SearchIndex:
    """The search half of the catalog index; the attributes are filled by CatalogIndex."""

    texts: list[tuple[str, str]]
    by_category: dict[int, BitMap]
    name_words: dict[str, BitMap]
    body_words: dict[str, BitMap]
    name_pairs: dict[str, BitMap]
    name_first: dict[str, BitMap]
    vocabulary: list[str] | None
    prefix_cache: dict[tuple[str, bool], BitMap]
    tier_cache: dict[tuple[str, ...], list[BitMap]]
    tier_ref: object  # the category snapshot the cached tiers were computed with
    _spell: SymSpell
    _speller_size: int

    def _prefix(self, term: str, name_only: bool) -> BitMap:
        key = (term, name_only)
        found = self.prefix_cache.get(key)
        if found is not None:
            return found
        if self.vocabulary is None:
            self.vocabulary = sorted(self.name_words.keys() | self.body_words.keys())
        lo = bisect_left(self.vocabulary, term)
        hi = bisect_left(self.vocabulary, term + "\x7f", lo)
        matches = self.vocabulary[lo : min(hi, lo + MAX_PREFIX_WORDS)]
        tables = (self.name_words,) if name_only else (self.name_words, self.body_words)
        found = BitMap.union(BitMap(), *(t[w] for w in matches for t in tables if w in t))
        if len(self.prefix_cache) > 5000:
            self.prefix_cache.clear()
        self.prefix_cache[key] = found
        return found

    def _exact(self, table: dict[str, BitMap], term: str) -> BitMap:
        return table.get(term) or BitMap()

    def _anywhere(self, term: str, last: bool) -> BitMap:
        """Products with `term` as a word of their name or text; the last word of a
        query may be a word still being typed (a prefix of two letters or more)."""
        if last and len(term) >= 2:
            return self._prefix(term, name_only=False)
        return self._exact(self.name_words, term) | self._exact(self.body_words, term)

    def _in_categories(self, terms: Sequence[str], ref, named: bool) -> BitMap:
        """Products filed under a category (or below it) whose name has every word.
        `named`: only categories the words almost name (they make up at least half
        of the name: "đồ uống" names "Đồ uống có cồn", "mật ong" does not name
        "Chế biến từ thịt, trứng, sữa, thủy sản, mật ong")."""
        last = len(terms) - 1
        chosen: set[int] = set()
        for c, names in ref.name_words:
            for own in names:
                has_all = all(
                    t in own or (i == last and any(w.startswith(t) for w in own)) for i, t in enumerate(terms)
                )
                if has_all and (not named or 2 * len(terms) >= len(own)):
                    chosen.update(ref.descendant_ids(c))
                    break
        return BitMap.union(BitMap(), *(self.by_category.get(c, BitMap()) for c in chosen))

    def _search_tiers(self, terms: Sequence[str], ref=None) -> list[BitMap]:
        """The matches of `terms`, best first, each tier without the ones above it
        (kept per query until the index changes):

        1. the name starts with the words, in order;  2. the name has them in order;
        3. the name has each as a whole word;  4. each starts a word of the name;
        5. each is a word of the name or of the product's text (producer, place,
           SKUs, description; the last word may be unfinished), and at least one
           is in the name or they stand side by side in the text.
        Only when none of that matches: products whose text has the words scattered,
        then products filed under a category named by the words."""
        if ref is not self.tier_ref:  # the category names changed: tiers may name others
            self.tier_cache.clear()
            self.tier_ref = ref
        key = tuple(terms)
        found = self.tier_cache.get(key)
        if found is None:
            found = self._compute_tiers(terms, ref)
            if len(self.tier_cache) > 2000:
                self.tier_cache.clear()
            self.tier_cache[key] = found
        return found

    def _compute_tiers(self, terms: Sequence[str], ref) -> list[BitMap]:
        last = len(terms) - 1
        whole = BitMap.intersection(*(self._exact(self.name_words, t) for t in terms))
        in_order = whole
        if len(terms) > 1:
            in_order = BitMap.intersection(
                whole, *(self._exact(self.name_pairs, f"{a} {b}") for a, b in zip(terms, terms[1:], strict=False))
            )
        leading = in_order & self._exact(self.name_first, terms[0])
        # While typing: the last word may be unfinished; the others are whole words.
        starts = BitMap.intersection(
            *(
                self._prefix(t, name_only=True) if i == last else self._exact(self.name_words, t)
                for i, t in enumerate(terms)
            )
        )
        text = BitMap.intersection(*(self._anywhere(t, i == last) for i, t in enumerate(terms)))
        in_name = BitMap.union(
            BitMap(),
            *(
                self._prefix(t, name_only=True) if i == last else self._exact(self.name_words, t)
                for i, t in enumerate(terms)
            ),
        )
        named = self._in_categories(terms, ref, named=True) if ref is not None else BitMap()
        # The rest of the text matches: the words side by side in the text first,
        # then by how many of the words the name has, the first word (the head of a
        # Vietnamese noun phrase: "trà" in "trà xanh") counting before the others.
        per_term = [self._exact(self.name_words, t) for t in terms[:-1]] + [self._prefix(terms[-1], name_only=True)]
        close = [self._side_by_side(text, terms)]
        for having in reversed(_by_count(text & in_name, per_term)):
            close += [having & per_term[0], having - per_term[0]]
        tiers, seen = [], BitMap()
        for tier in (leading, in_order, whole, starts, named, *close):
            tier = tier - seen
            if tier:
                tiers.append(tier)
                seen |= tier
        if not tiers and text:  # the words only scattered through the text
            tiers.append(text)
        if not tiers and ref is not None:
            by_category = self._in_categories(terms, ref, named=False)
            if by_category:
                tiers.append(by_category)
        return tiers

    def _side_by_side(self, candidates: BitMap, terms: Sequence[str]) -> BitMap:
        """The candidates whose text has the words next to each other, in order (the
        last may be unfinished). The texts are kept as their words between single
        spaces (`shop.catalog.index._texts`), so this is a substring test: a regular
        expression over the raw text was 60% of a new two-word search."""
        if len(terms) == 1:
            return candidates
        if len(candidates) > MAX_PHRASE_CHECKS:
            return BitMap()
        phrase = " " + " ".join(terms)
        texts = self.texts
        return BitMap(r for r in candidates if phrase in texts[r][1])

    def correct(self, terms: Sequence[str]) -> tuple[str, ...] | None:
        """The query with each unknown word replaced by the most used known word one
        typing mistake away (a letter missing, extra, wrong or swapped), or None."""
        speller = self._speller()
        out, changed = [], False
        for i, term in enumerate(terms):
            last = i == len(terms) - 1
            known = self._prefix(term, name_only=False) if last else self._anywhere(term, last=False)
            if known:
                out.append(term)
                continue
            options = speller.lookup(term, Verbosity.CLOSEST, max_edit_distance=1)
            if not options:
                return None
            out.append(options[0].term)
            changed = True
        return tuple(out) if changed else None

    def _speller(self) -> SymSpell:
        if getattr(self, "_speller_size", -1) != len(self.name_words) + len(self.body_words):
            speller = SymSpell(max_dictionary_edit_distance=1, prefix_length=8)
            for table in (self.name_words, self.body_words):
                for word, bm in table.items():
                    if len(word) > 1 and not word.isdigit():
                        speller.create_dictionary_entry(word, len(bm))
            self._spell, self._speller_size = speller, len(self.name_words) + len(self.body_words)
        return self._spell


def _by_count(candidates: BitMap, sets: Sequence[BitMap]) -> list[BitMap]:
    """`candidates` split by how many of `sets` hold each: item n holds those in exactly
    n of them (bitmap operations; a loop over the candidates took 60% of a new search
    at 1,000,000 products)."""
    exactly = [candidates]
    for bm in sets:
        grown = [BitMap() for _ in range(len(exactly) + 1)]
        for n, having in enumerate(exactly):
            inside = having & bm
            grown[n + 1] |= inside
            grown[n] |= having - inside
        exactly = grown
    return exactly
