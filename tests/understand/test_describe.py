from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from product_studio.errors import UsageError
from product_studio.understand.attributes import Attributes
from product_studio.vision.colors import ColorShare
from product_studio.marketplaces import load_preset
from product_studio.understand.describe import describe as describe_listing
from product_studio.understand.listing_rules import DEFAULT_RULE, ListingFields, title_length
from product_studio.understand.listing_text import fit_title
from product_studio.understand.llm_client import LLMConfig

LONG = ListingFields(
    brand="Nike",
    model="AM-270",
    category="sneakers",
    material="mesh",
    gender="men",
    season="summer",
    sizes=["40", "41", "42", "43"],
    keywords=["breathable", "lightweight", "running", "non-slip", "casual", "outdoor", "durable", "travel",
              "gift", "vintage", "minimalist", "hiking", "shock absorbing", "wide fit", "sports"],
)


def title_rule(preset: str):
    return load_preset(preset).title_rule()


def describe(attributes, fields=None, *, preset: str | None = None, **kwargs):
    """``describe`` with a preset's title rule, as the command and the route call it."""
    if preset is None:
        return describe_listing(attributes, fields, **kwargs)
    return describe_listing(attributes, fields, title_rule=title_rule(preset), preset=preset, **kwargs)


def measured(category="Sneaker", prob=0.93) -> Attributes:
    return Attributes(
        category=category,
        category_prob=prob,
        colors=[ColorShare("red", "红色", (220, 25, 35), "#dc1923", 0.7, 2.0), ColorShare("white", "白色", (250, 250, 250), "#fafafa", 0.3, 1.0)],
    )


def zh_words(text: str) -> list[str]:
    import jieba

    return [w for w in jieba.lcut(text) if len(w.strip()) >= 2]


def en_words(text: str) -> list[str]:
    return [re.sub(r"[^\w'-]", "", w).lower() for w in text.split() if re.sub(r"[^\w'-]", "", w)]


def test_byte_count_is_taobaos():
    assert title_length("运动鞋", "bytes") == 6 and title_length("Nike 2024", "bytes") == 9
    assert title_length("耐克Nike", "bytes") == 8 and title_length("【新款】", "bytes") == 8
    assert title_rule("taobao-main").max_length == 60 and title_rule("taobao-main").unit == "bytes"
    assert title_rule("amazon-main").max_length == 200 and title_rule("amazon-main").target == 80


@pytest.mark.parametrize("preset", ["taobao-main", "tmall-main", "jd-main", "amazon-main", "ebay", "shopify", "google-merchant"])
def test_titles_respect_the_limit_on_long_inputs(preset):
    rule = title_rule(preset)
    for listing in describe(measured(), LONG, preset=preset).values():
        assert listing.title_length == title_length(listing.title, rule.unit) <= rule.limit <= rule.max_length
        assert listing.title_length > rule.limit * 0.6  # the room is used, not wasted
        assert listing.title.strip() == listing.title and "  " not in listing.title


def test_taobao_counts_bytes_and_amazon_characters():
    out = describe(measured(), LONG, preset="taobao-main")
    assert sum(1 if ord(c) < 128 else 2 for c in out["zh"].title) <= 60
    assert len(out["zh"].title) > 20  # ~30 Chinese characters, not 60
    amazon = describe(measured(), LONG, preset="amazon-main")
    assert len(amazon["en"].title) <= 80 and amazon["en"].title_unit == "chars"


def test_brand_first_and_no_repeated_words():
    fields = ListingFields(brand="Nike", category="sneakers", keywords=["sneakers", "red", "running sneakers", "运动鞋", "红色", "跑步"], colors=["red"])
    for preset in ("taobao-main", "amazon-main"):
        out = describe(measured(), fields, preset=preset)
        assert out["zh"].title.startswith("Nike") and out["en"].title.startswith("Nike")
        words = zh_words(out["zh"].title)
        assert len(words) == len(set(words)), out["zh"].title
        words = en_words(out["en"].title)
        assert len(words) == len(set(words)), out["en"].title
        assert "运动鞋" in out["zh"].title and "红色" in out["zh"].title and "Sneakers" in out["en"].title


def test_shopify_does_not_force_the_brand_first():
    out = describe(measured(), ListingFields(brand="Acme", category="sneakers", gender="women"), preset="shopify")
    assert not out["en"].title.startswith("Acme") and "Acme" in out["en"].title


def test_keywords_are_kept_in_order_of_importance_and_whole():
    out = describe(measured(), LONG, preset="taobao-main")
    title = out["zh"].title
    assert "透气" in title and "轻便" in title  # the first keywords fit
    assert "复古" not in title  # a late keyword is the one dropped
    en = describe(measured(), LONG, preset="amazon-main")["en"].title
    assert "Breathable" in en and "Minimalist" not in en
    for word in en.replace(",", "").split():  # every word is a whole vocabulary word
        assert word.strip("/") in en


def test_measured_facts_fill_the_listing_and_seller_wins():
    out = describe(measured(), ListingFields(material="cotton", colors=["black"]), preset="taobao-main", langs="zh")
    assert list(out) == ["zh"]
    assert "运动鞋" in out["zh"].title and "黑色" in out["zh"].title and "红色" not in out["zh"].title
    assert "纯棉" in out["zh"].description and any("【材质】" in b for b in out["zh"].bullets)
    en = describe(measured("Dress"), None, preset="amazon-main", langs=["en"])["en"]
    assert en.title == "Dress, Red/White" and en.bullets[0].startswith("PRODUCT: dress in red and white")


def test_uncertain_category_is_not_used_and_warned():
    out = describe(measured("Bag", 0.2), None, preset="amazon-main")
    assert "Bag" not in out["en"].title and out["en"].warnings and "--category" in out["en"].warnings[0]


def test_bad_languages_and_fields():
    with pytest.raises(UsageError, match="language"):
        describe(None, None, langs="fr")
    with pytest.raises(UsageError, match="unknown listing field"):
        describe(None, {"colour_of_box": "x"})


def test_fit_title_truncates_at_word_boundaries_and_puts_the_brand_first():
    rule = title_rule("taobao-main")
    long_zh = "超轻透气网面男士跑步运动鞋夏季新款休闲百搭防滑耐磨学生潮流旅行鞋子"
    fitted = fit_title(long_zh, rule, "zh", brand="Nike")
    assert fitted.startswith("Nike") and title_length(fitted, "bytes") <= 60
    assert long_zh.startswith(fitted[4:]) or fitted[4:] in long_zh
    rule_en = title_rule("ebay")
    fitted_en = fit_title("Super " * 30 + "Shoes by Nike", rule_en, "en", brand="Nike")
    assert fitted_en.startswith("Nike") and len(fitted_en) <= 80 and fitted_en.count("Super") == 1


# ----------------------------------------------------------------------------------------------
# the optional language model, against a real HTTP server on loopback


class _Endpoint:
    """A tiny OpenAI-compatible /v1/chat/completions server; ``answer`` decides the reply."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                status, content = outer.answer(body)
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    servers = []

    def start(answer):
        servers.append(_Endpoint(answer))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_llm_polish_is_used_and_still_checked(endpoint):
    def answer(body):
        user = json.loads(body["messages"][-1]["content"])
        if user["language"] == "English":
            title = "Lightweight Breathable Red Running Sneakers for Men by Nike with Extra Cushioning " * 3
        else:
            title = "超轻透气男士红色跑步运动鞋 运动鞋 Nike 夏季新款"
        return 200, "```json\n" + json.dumps({"title": title, "bullets": ["A", "B"], "description": "Polished."}) + "\n```"

    server = endpoint(answer)
    out = describe(measured(), LONG, preset="taobao-main", llm=LLMConfig(url=server.url, model="tiny", api_key="k-123"))
    assert server.requests[0]["path"] == "/v1/chat/completions" and server.requests[0]["auth"] == "Bearer k-123"
    assert server.requests[0]["body"]["model"] == "tiny"
    for listing in out.values():
        assert listing.source == "llm" and listing.title.startswith("Nike") and listing.title_length <= 60
        assert listing.bullets == ["A", "B"] and listing.description == "Polished."
    words = zh_words(out["zh"].title)
    assert len(words) == len(set(words))
    assert out["en"].title.count("Lightweight") == 1


@pytest.mark.parametrize(
    "status, content, reason",
    [(500, "oops", "500"), (200, "no json here", "no JSON"), (200, json.dumps({"title": "English only"}), "Chinese")],
)
def test_llm_failures_fall_back_to_the_draft(endpoint, status, content, reason):
    server = endpoint(lambda body: (status, content))
    draft = describe(measured(), LONG, preset="taobao-main", langs="zh")["zh"]
    out = describe(measured(), LONG, preset="taobao-main", langs="zh", llm=LLMConfig(url=server.url + "/v1"))["zh"]
    assert out.source == "draft" and out.title == draft.title
    assert out.warnings and reason in out.warnings[-1] and "draft is kept" in out.warnings[-1]


def test_llm_unreachable_falls_back():
    out = describe(measured(), LONG, preset="amazon-main", langs="en", llm=LLMConfig(url="http://127.0.0.1:9", timeout=2))["en"]
    assert out.source == "draft" and "LLM polishing failed" in out.warnings[-1]


# ----------------------------------------------------------------------------------------------
# the title rules come from the marketplace presets


def test_title_rules_are_the_presets():
    expected = {  # preset: (max_length, unit, target, brand_first)
        "taobao-main": (60, "bytes", None, True), "tmall-main": (60, "bytes", None, True), "jd-main": (90, "bytes", None, True),
        "amazon-main": (200, "chars", 80, True), "ebay": (80, "chars", None, True),
        "google-merchant": (150, "chars", 70, True), "shopify": (255, "chars", 70, False),
    }
    for name, values in expected.items():
        rule = title_rule(name)
        assert (rule.max_length, rule.unit, rule.target, rule.brand_first) == values and rule.source
        assert rule.marketplace == load_preset(name).marketplace


def test_a_user_preset_without_a_title_rule_takes_its_marketplaces(tmp_path):
    import yaml

    data = load_preset("taobao-main").model_dump(mode="json", by_alias=True)
    data.update(name="my-shop", marketplace="taobao", listing_title=None)
    path = tmp_path / "my-shop.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_preset(path).title_rule() == title_rule("taobao-main")
    data.update(marketplace="Etsy")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_preset(path).title_rule() is None
    listing = describe_listing(None, {"category": "sneakers"}, title_rule=None, preset="my-shop", langs="en")["en"]
    assert (listing.marketplace, listing.title_max, listing.title_limit, listing.preset) == ("generic", 200, 80, "my-shop")
    assert DEFAULT_RULE.limit == 80


def test_a_title_rule_target_above_its_limit_is_refused():
    from product_studio.errors import PresetError
    from product_studio.marketplaces.presets import parse_preset
    import yaml

    data = load_preset("amazon-main").model_dump(mode="json", by_alias=True)
    data["listing_title"]["target"] = 300
    with pytest.raises(PresetError, match="target"):
        parse_preset(yaml.safe_dump(data))


def unknown_product() -> Attributes:
    """What extract_attributes gives when the classifier answers "unknown": no category, the nearest kept."""
    attrs = measured()
    attrs.category, attrs.category_prob, attrs.category_in_taxonomy = None, None, False
    attrs.category_top = [("Bag", 0.41), ("Pullover", 0.2), ("Coat", 0.1)]
    return attrs


def test_an_unknown_category_never_enters_a_title_and_the_listing_says_so():
    out = describe(unknown_product(), None, preset="amazon-main")
    assert "Bag" not in out["en"].title and "包" not in out["zh"].title
    assert "Red" in out["en"].title  # the measured colours still describe it
    for listing in out.values():
        assert any("does not know this product" in w and "--category" in w for w in listing.warnings)
    seller = describe(unknown_product(), ListingFields(category="mug"), preset="amazon-main")
    assert "Mug" in seller["en"].title and "马克杯" in seller["zh"].title and not seller["en"].warnings


def test_describe_on_the_coffee_cup_sample_does_not_write_bag():
    from pathlib import Path

    from product_studio import load_image
    from product_studio.understand.attributes import extract_attributes

    photo = Path(__file__).resolve().parents[2] / "samples" / "coffee_cup.jpg"
    attrs = extract_attributes(load_image(photo), fields=("category", "colors"))
    assert attrs.category is None and attrs.category_in_taxonomy is False
    assert any(note.startswith("category: unknown") for note in attrs.notes)
    out = describe(attrs, None, preset="amazon-main")
    assert "Bag" not in out["en"].title and "包" not in out["zh"].title
    assert any("does not know this product" in w for w in out["en"].warnings)
