"""Synthetic conference records, so the scrapers behave like real ones without any network.

A fixed, seeded catalogue of about 1,600 conference editions stands in for "the world". Each
source lists a different slice of it (an NLP site lists NLP venues), with a typical size and a
few per cent of run-to-run noise, so counts, overlaps between sources and upserts look real.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]

#: Fields every record must carry; checked by each scraper's ``required_fields`` check.
REQUIRED_FIELDS: tuple[str, ...] = ("name", "acronym", "year", "url", "start_date", "country")

#: Asset name of the storage step (it accepts ``fail`` and ``delay_s`` faults too).
STORE_ASSET = "store_conferences"


@dataclass(frozen=True)
class SourceSpec:
    """One scraped site: how many records it usually lists and how it breaks."""

    asset_name: str
    domain: str
    url: str
    typical_count: int
    min_count: int
    fields: tuple[str, ...]
    failure_message: str
    error_type: str = "ConnectionError"
    priority: int = 0  # higher wins when two sources list the same edition
    noise: float = 0.04


SOURCES: dict[str, SourceSpec] = {
    spec.asset_name: spec
    for spec in (
        SourceSpec(
            asset_name="ai_deadlines_conferences",
            domain="aideadlin.es",
            url="https://aideadlin.es/",
            typical_count=180,
            min_count=120,
            fields=("ml", "vision", "nlp"),
            failure_message=(
                "HTTP 404 Not Found from https://raw.githubusercontent.com/paperswithcode/"
                "ai-deadlines/gh-pages/_data/conferences.yml"
            ),
            priority=3,
        ),
        SourceSpec(
            asset_name="acl_web_conferences",
            domain="aclweb.org",
            url="https://www.aclweb.org/portal/conferences",
            typical_count=60,
            min_count=40,
            fields=("nlp",),
            failure_message=(
                "HTTP 503 Service Unavailable from https://www.aclweb.org/portal/conferences "
                "(attempt 3/3)"
            ),
            priority=5,
        ),
        SourceSpec(
            asset_name="chairing_tool_conferences",
            domain="chairingtool.com",
            url="https://chairingtool.com/conferences",
            typical_count=400,
            min_count=250,
            fields=(),
            failure_message=(
                "Read timed out (read timeout=30.0) fetching "
                "https://chairingtool.com/conferences?page=7"
            ),
            error_type="TimeoutError",
            priority=2,
        ),
        SourceSpec(
            asset_name="elra_conferences",
            domain="elra.info",
            url="https://www.elra.info/en/events/",
            typical_count=25,
            min_count=15,
            fields=("speech", "nlp"),
            failure_message=(
                "HTTP 503 Service Unavailable from https://www.elra.info/en/events/ "
                "(attempt 3/3, last error: upstream connect error or disconnect/reset)"
            ),
            priority=4,
        ),
        SourceSpec(
            asset_name="wikicfp_conferences",
            domain="wikicfp.com",
            url="http://www.wikicfp.com/cfp/allcfp",
            typical_count=1200,
            min_count=800,
            fields=(),
            failure_message=(
                "HTTP 429 Too Many Requests from http://www.wikicfp.com/cfp/allcfp?page=12 "
                "(Retry-After: 3600)"
            ),
            priority=1,
        ),
    )
}

STORE_FAILURE_MESSAGE = "database is locked (another crawl is still writing conferences)"

_FAMOUS: tuple[tuple[str, str, str], ...] = (
    ("NeurIPS", "Conference on Neural Information Processing Systems", "ml"),
    ("ICML", "International Conference on Machine Learning", "ml"),
    ("ICLR", "International Conference on Learning Representations", "ml"),
    ("AAAI", "AAAI Conference on Artificial Intelligence", "ml"),
    ("IJCAI", "International Joint Conference on Artificial Intelligence", "ml"),
    ("CVPR", "Conference on Computer Vision and Pattern Recognition", "vision"),
    ("ICCV", "International Conference on Computer Vision", "vision"),
    ("ECCV", "European Conference on Computer Vision", "vision"),
    ("ACL", "Annual Meeting of the Association for Computational Linguistics", "nlp"),
    ("EMNLP", "Conference on Empirical Methods in Natural Language Processing", "nlp"),
    ("NAACL", "Annual Conference of the North American Chapter of the ACL", "nlp"),
    ("EACL", "Conference of the European Chapter of the ACL", "nlp"),
    ("COLING", "International Conference on Computational Linguistics", "nlp"),
    ("LREC", "Language Resources and Evaluation Conference", "speech"),
    (
        "INTERSPEECH",
        "Annual Conference of the International Speech Communication Association",
        "speech",
    ),
    (
        "ICASSP",
        "IEEE International Conference on Acoustics, Speech and Signal Processing",
        "speech",
    ),
    ("KDD", "ACM SIGKDD Conference on Knowledge Discovery and Data Mining", "data"),
    ("SIGMOD", "ACM SIGMOD International Conference on Management of Data", "data"),
    ("VLDB", "International Conference on Very Large Data Bases", "data"),
    ("SIGIR", "ACM SIGIR Conference on Research and Development in Information Retrieval", "data"),
    ("OSDI", "USENIX Symposium on Operating Systems Design and Implementation", "systems"),
    ("EuroSys", "European Conference on Computer Systems", "systems"),
    ("CHI", "ACM CHI Conference on Human Factors in Computing Systems", "hci"),
    ("UIST", "ACM Symposium on User Interface Software and Technology", "hci"),
    ("CCS", "ACM Conference on Computer and Communications Security", "security"),
    ("NDSS", "Network and Distributed System Security Symposium", "security"),
)

_TOPICS: dict[str, tuple[str, ...]] = {
    "ml": (
        "Machine Learning", "Representation Learning", "Reinforcement Learning",
        "Probabilistic Inference", "Graph Learning", "Federated Learning", "Causal Inference",
        "Learning Theory", "Generative Models", "Continual Learning",
    ),
    "nlp": (
        "Machine Translation", "Question Answering", "Computational Semantics",
        "Dialogue Systems", "Information Extraction", "Text Summarization",
        "Computational Morphology", "Sentiment Analysis", "Language Modeling", "Argument Mining",
    ),
    "speech": (
        "Language Resources", "Speech Recognition", "Spoken Language Technology",
        "Corpus Linguistics", "Speech Synthesis", "Lexical Resources",
        "Sign Language Processing", "Multimodal Corpora", "Annotation Standards",
        "Under-Resourced Languages",
    ),
    "vision": (
        "Computer Vision", "Image Analysis", "Video Understanding", "Visual Recognition",
        "Medical Imaging", "Remote Sensing", "Document Analysis", "Robot Perception",
        "Pattern Recognition", "Scene Understanding",
    ),
    "data": (
        "Data Mining", "Information Retrieval", "Knowledge Graphs", "Data Management",
        "Recommender Systems", "Web Search", "Data Quality", "Stream Processing", "Semantic Web",
        "Big Data Analytics",
    ),
    "systems": (
        "Distributed Systems", "Cloud Computing", "Operating Systems", "Networked Systems",
        "Edge Computing", "Storage Systems", "High Performance Computing", "Embedded Systems",
        "Dependable Computing", "Parallel Processing",
    ),
    "hci": (
        "Human-Computer Interaction", "Ubiquitous Computing", "Accessibility", "Visualization",
        "Cooperative Work", "Intelligent User Interfaces", "Interaction Design", "Mobile HCI",
        "Learning Analytics", "Social Computing",
    ),
    "security": (
        "Computer Security", "Privacy Enhancing Technologies", "Applied Cryptography",
        "Network Security", "Software Security", "Digital Forensics", "Usable Security",
        "Blockchain Security", "Malware Analysis", "Infrastructure Protection",
    ),
}  # fmt: skip

_VENUES: tuple[tuple[str, str], ...] = (
    ("International Conference on", "IC"),
    ("Workshop on", "W"),
    ("International Workshop on", "IW"),
    ("Symposium on", "S"),
    ("European Conference on", "EC"),
    ("Asian Conference on", "AC"),
    ("Pacific-Rim Symposium on", "PRS"),
    ("Nordic Conference on", "NC"),
    ("Joint Conference on", "JC"),
    ("Annual Meeting on", "AM"),
)

_QUALIFIERS: tuple[str, ...] = (
    "", "", "", "Applied", "Trustworthy", "Efficient", "Multilingual", "Responsible",
    "Scalable", "Robust", "Interpretable", "Open", "Green", "Advances in",
)  # fmt: skip

_PLACES: tuple[tuple[str, str], ...] = (
    ("Vienna", "Austria"), ("Bangkok", "Thailand"), ("Singapore", "Singapore"),
    ("Vancouver", "Canada"), ("Montreal", "Canada"), ("Seattle", "USA"), ("New Orleans", "USA"),
    ("Honolulu", "USA"), ("Miami", "USA"), ("Boston", "USA"), ("Mexico City", "Mexico"),
    ("Buenos Aires", "Argentina"), ("Lisbon", "Portugal"), ("Barcelona", "Spain"),
    ("Marseille", "France"), ("Paris", "France"), ("Turin", "Italy"), ("Dublin", "Ireland"),
    ("Edinburgh", "UK"), ("Berlin", "Germany"), ("Munich", "Germany"), ("Prague", "Czechia"),
    ("Copenhagen", "Denmark"), ("Helsinki", "Finland"), ("Tallinn", "Estonia"),
    ("Athens", "Greece"), ("Abu Dhabi", "UAE"), ("Nairobi", "Kenya"), ("Kigali", "Rwanda"),
    ("Cape Town", "South Africa"), ("Seoul", "South Korea"), ("Tokyo", "Japan"),
    ("Kyoto", "Japan"), ("Taipei", "Taiwan"), ("Hong Kong", "China"), ("Beijing", "China"),
    ("Hyderabad", "India"), ("Melbourne", "Australia"), ("Sydney", "Australia"),
    ("Auckland", "New Zealand"), ("Online", "Virtual"),
)  # fmt: skip

_CATALOGUE_PER_FIELD = 200
_STOP_WORDS = {"on", "of", "in", "for", "and", "the", "to"}


def _initials(phrase: str) -> str:
    words = phrase.replace("-", " ").split()
    return "".join(w[0].upper() for w in words if w.lower() not in _STOP_WORDS)


def _edition(rng: random.Random, acronym: str, name: str, field: str, base_year: int) -> Record:
    year = base_year + (1 if rng.random() < 0.3 else 0)
    start = dt.date(year, 1, 1) + dt.timedelta(days=rng.randint(10, 340))
    workshop = name.startswith(("Workshop", "International Workshop"))
    end = start + dt.timedelta(days=rng.randint(0, 1) if workshop else rng.randint(2, 4))
    deadline = start - dt.timedelta(days=rng.randint(45, 160))
    notification = min(deadline + dt.timedelta(days=rng.randint(28, 60)), start)
    city, country = rng.choice(_PLACES)
    slug = f"{acronym.lower()}{year}"
    url = f"https://sites.google.com/view/{slug}" if workshop else f"https://{slug}.org/"
    topics = [t for t in rng.sample(_TOPICS[field], 3) if rng.random() < 0.7] or [_TOPICS[field][0]]
    return {
        "name": f"{name} {year}",
        "acronym": acronym,
        "year": year,
        "url": url,
        "submission_deadline": f"{deadline.isoformat()}T23:59:00-12:00",  # anywhere on earth
        "notification_date": notification.isoformat(),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "city": city,
        "country": country,
        "format": "virtual" if city == "Online" else rng.choice(("in-person", "hybrid")),
        "field": field,
        "topics": topics,
    }


@functools.lru_cache(maxsize=4)
def catalogue(base_year: int) -> tuple[Record, ...]:
    """All conference editions known to the synthetic world, identical on every call."""
    rng = random.Random(f"confradar-catalogue-{base_year}")
    seen: set[str] = set()
    entries: list[Record] = []
    for acronym, name, field in _FAMOUS:
        seen.add(acronym)
        entries.append(_edition(rng, acronym, name, field, base_year))
    for field, topics in _TOPICS.items():
        made = 0
        while made < _CATALOGUE_PER_FIELD:
            venue, prefix = rng.choice(_VENUES)
            qualifier = rng.choice(_QUALIFIERS)
            topic = rng.choice(topics)
            acronym = prefix + _initials(f"{qualifier} {topic}")
            if acronym in seen:
                continue
            seen.add(acronym)
            name = " ".join(p for p in (venue, qualifier, topic) if p)
            entries.append(_edition(rng, acronym, name, field, base_year))
            made += 1
    return tuple(entries)


def natural_key(record: Record) -> tuple[str, int]:
    """A conference edition is identified by its acronym and year, whatever the source."""
    return (str(record.get("acronym", "")).upper(), int(record.get("year") or 0))


def expected_count(spec: SourceSpec, rng: random.Random, count_factor: float = 1.0) -> int:
    """How many records a source lists this run: its typical size, a little noise, a factor."""
    noisy = spec.typical_count * (1 + rng.uniform(-spec.noise, spec.noise))
    return max(0, round(noisy * count_factor))


def generate_records(
    source: str,
    *,
    count_factor: float = 1.0,
    rng: random.Random | None = None,
    today: dt.date | None = None,
) -> list[Record]:
    """Records one scraper would return: a noisy-sized sample of its slice of the catalogue."""
    spec = SOURCES[source]
    rng = rng or random.Random()
    today = today or dt.datetime.now(dt.UTC).date()
    pool = [e for e in catalogue(today.year) if not spec.fields or e["field"] in spec.fields]
    count = min(expected_count(spec, rng, count_factor), len(pool))
    scraped_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out: list[Record] = []
    for entry in rng.sample(pool, count):
        record = dict(entry, topics=list(entry["topics"]))
        if rng.random() < 0.03:  # a deadline extension this site already picked up
            deadline = dt.date.fromisoformat(record["submission_deadline"][:10])
            extended = deadline + dt.timedelta(days=7)
            record["submission_deadline"] = f"{extended.isoformat()}T23:59:00-12:00"
        record["source"] = spec.domain
        record["scraped_at"] = scraped_at
        out.append(record)
    out.sort(key=lambda r: (r["submission_deadline"], r["acronym"]))
    return out


def missing_required(record: Record) -> list[str]:
    """Names of required fields that are absent or empty in a record."""
    return [f for f in REQUIRED_FIELDS if record.get(f) in (None, "")]
