"""Write the embedded demo competitions: small, synthetic, Kaggle-format, imbalanced.

Two competitions, each a folder with ``train.csv`` (id, text, label), ``test.csv`` (id, text),
``sample_submission.csv`` (id, label; a default label, ids in test order) and ``solution.csv`` (id, label: the
true test labels, which a real competition would hide):

- ``binary/``: SMS-like messages, ``ham`` or ``spam``; spam is 8% of the rows.
- ``multiclass/``: customer-support tickets in five queues; the smallest (``security``) is 7% of the rows.

Texts come from templates with slot filling, then noise (typos, text-speak, case and punctuation changes). The
classes share vocabulary on purpose (ham that says "free" or "win", spam that reads like a friend; a billing
ticket about a card that a security ticket also mentions), and a few rows are exact duplicates, so no single
keyword separates the classes and a model has something to learn. Everything is drawn from one
``numpy.random.Generator`` seeded by ``--seed``, so the CSVs are byte-identical on every machine.

Run ``python -m competition.demo.make_demo`` (writes next to this file) or pass ``--out DIR``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

DEMO_DIR = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------------------------------------------
# Slot vocabularies shared by both competitions.

SLOTS: dict[str, list[str]] = {
    "name": ["Anna", "Tom", "Priya", "Jake", "Mia", "Sam", "Olu", "Lena", "Ravi", "Chloe", "Ben", "Zoe", "Marco",
             "Aisha", "Dan", "Nina", "Leo", "Kate", "Yusuf", "Ellie", "mum", "dad", "bro", "babe"],
    "customer": ["Anna", "Tom Reed", "Priya", "J. Walsh", "Mia", "Sam Okafor", "Lena", "Ravi", "Chloe", "B. Hart",
                 "Zoe", "Marco", "Aisha Khan", "Dan", "Nina", "Kate", "Yusuf"],
    "time": ["6", "7", "7.30", "8", "half 8", "9", "10", "noon", "5ish", "11", "quarter past 7", "6.45"],
    "day": ["monday", "tuesday", "wed", "thursday", "friday", "sat", "sunday", "the weekend", "tomorrow", "today"],
    "place": ["the pub", "uni", "the gym", "town", "the station", "the library", "Costa", "the cinema", "work",
              "the park", "nandos", "the match", "grandma's", "the shop", "the office"],
    "activity": ["dinner", "a movie", "coffee", "football", "the lecture", "revision", "shopping", "a run",
                 "drinks", "the party", "band practice", "the gig", "yoga", "bowling"],
    "food": ["pizza", "chips", "curry", "pasta", "noodles", "a kebab", "sushi", "burgers", "tacos"],
    "feeling": ["tired", "knackered", "so bored", "starving", "ill", "stressed", "happy", "fine", "sleepy"],
    "item": ["charger", "keys", "umbrella", "notes", "wallet", "jacket", "headphones", "book", "laptop"],
    "prize": ["£1000 cash", "£500 Tesco voucher", "£2000 prize", "brand new iPhone", "holiday to Tenerife",
              "£250 gift card", "Samsung TV", "luxury cruise", "£5000 loan approval", "free camera phone",
              "£100 Amazon voucher", "week in Ibiza"],
    "shortcode": ["87121", "80082", "62468", "69698", "85233", "83355", "88039", "61200"],
    "premium": ["09061701461", "09066358361", "09050000327", "0871277810910", "09058094565", "09065171142"],
    "url": ["www.win-now.co.uk", "bit.ly/2claimx", "www.txt-prize.com", "www.freemsg4u.net", "claim-here.info",
            "www.dating-chat.co", "secure-verify-acct.com"],
    "price": ["150p", "£1.50", "£3/wk", "25p/min", "£2 per msg", "10p"],
    "code": ["X29", "Y87", "K52", "WIN4", "B7", "GR8", "T91", "Q44"],
    "hours": ["12", "24", "48", "72"],
    "product": ["phone", "laptop", "headphones", "smart watch", "router", "printer", "tablet", "camera",
                "subscription", "gift card", "speaker", "monitor"],
    "order": ["#48213", "#55120", "#61872", "#70344", "#83910", "#90217", "#31876", "#27755", "#13402"],
    "amount": ["£12.99", "£49.00", "$79.99", "£5", "€120", "£230.50", "$15", "£8.40", "£99"],
    "app": ["the app", "the website", "the mobile app", "the desktop app", "the portal", "the checkout page"],
    "error": ["error 500", "a blank screen", "an endless spinner", "error code E42", "'something went wrong'",
              "a timeout", "a crash on startup", "error 0x80070005"],
    "device": ["iPhone", "Android phone", "Windows laptop", "Mac", "iPad", "Chromebook", "smart TV"],
    "courier": ["DPD", "Royal Mail", "UPS", "Evri", "DHL", "FedEx"],
    "days": ["3", "5", "7", "10", "two weeks", "a week", "ten days"],
}

# ----------------------------------------------------------------------------------------------------------------
# Binary: SMS ham / spam. Ham templates sometimes use spam words (free, win, call, prize, text, offer) and some
# spam is written like a friend's message, so the task needs more than one keyword.

HAM = [
    "hey {name}, are you free {day}? fancy {activity} at {place}",
    "running late, be there at {time}",
    "can u pick up {food} on the way home",
    "im {feeling}, going to bed early",
    "did you see the score? we won!! drinks at {place} {time}",
    "call me when you get this, its about {day}",
    "ok see you at {place} at {time} then",
    "left my {item} at {place}, can you grab it",
    "happy birthday {name}!! hope you have an amazing day x",
    "what time is {activity} {day}",
    "sorry missed your call, was at {place}. ring u back in 10",
    "mum says {food} for tea, you in?",
    "just got the free tickets for {activity} on {day}, you coming",
    "text me when ur home safe",
    "lol that was so funny. {name} is mad",
    "can't make {activity} {day}, really {feeling}. next week?",
    "the offer at {place} ends {day} apparently, want to go",
    "{name} won the quiz again, unreal",
    "good luck with the exam tomorrow, you got this",
    "where are you? we're all at {place}",
    "thanks for {activity} last night, had a great time",
    "dont forget to bring the {item}",
    "I'll call you after {activity}, probably around {time}",
    "is the prize draw at {place} {day} or next week?",
    "k. going to {place} now, need anything?",
    "yeah {day} works. {time} at {place}?",
    "my phone is dying, msg {name} if you need me",
    "cheers for the lift, owe you {food}",
    "any news from {name}? they said they'd text",
    "on the bus, 5 mins away",
    "fancy {food} tonight? my treat",
    "got a new number, save this one. {name}",
    "claim your seat early, {activity} gets busy on {day}",
    "urgent: need the {item} back before {time}, sorry!",
    "just finished {activity}, {feeling} now haha",
    "how was {activity}? did {name} come",
    "remember to reply to {name} about {day}",
    "we should totally do {activity} again soon",
    "lol {name} got a text saying they won a {prize}, obvs a scam",
    "did you enter the comp at {place}? the prize is a {prize}",
    "ignore any msg from {shortcode}, my phone got spammed all day",
    "call me urgent, its about the {item}. valid reason i promise",
    "they're giving away free {food} at {place} till {time}, come!",
    "reply when you can, need to know about {day} x",
]

# Messages that read the same from a friend or a spammer: both pools draw them, so no model is perfect.
SMS_AMBIGUOUS = [
    "call me when you can, it's important",
    "check this out {url}",
]
HAM += SMS_AMBIGUOUS

SPAM = [
    "URGENT! You have won a {prize}. Call {premium} now to claim. Valid {hours} hrs only",
    "Congratulations! You've been selected to receive a {prize}. Text CLAIM to {shortcode}. {price}",
    "FREE entry into our weekly comp to win a {prize}! Text WIN to {shortcode} to receive entry. T&Cs apply",
    "Your mobile number has won a {prize} in our draw. To claim call {premium} quote code {code}",
    "Hey its {name}, remember me? I've got some pics for u, see them at {url}",
    "PRIVATE! Your account statement shows unredeemed points worth a {prize}. Call {premium} identifier {code}",
    "You are a WINNER! Reply YES to {shortcode} to get your {prize}. {price}. Stop? txt STOP",
    "Your bank account has been suspended. Verify your details at {url} within {hours} hours",
    "Hi {name} here, I'm lonely tonight and want to chat. Text me on {shortcode} {price}",
    "Last chance! Claim your {prize} today at {url} before it expires",
    "IMPORTANT: we tried to deliver your parcel. Pay the {price} fee at {url}",
    "Ringtone club: get the UK singles chart on your mobile every week. Txt TONE to {shortcode} {price}",
    "Free msg: your {prize} is waiting. Call {premium} from a landline. {price}",
    "You have 1 new voicemail. Please call {premium} to listen",
    "Dear customer, you are due a refund of {prize}. Click {url} to receive it",
    "Get a {prize} for just {price}! Offer ends {day}. Reply GO to {shortcode}",
    "Had your mobile 11 months or more? U R entitled to update to the latest camera phone for free! Call {premium}",
    "hey babe, it's {name} from the dating site, call me on {premium} x",
    "hi, are you free {day}? I have something special for you, text {shortcode}",
    "sorry i missed your call. ring me back on {premium}",
    "Your {item} order is ready. Reply with your card number to confirm delivery",
    "{name} has sent you a photo message, view it at {url}",
]
SPAM += SMS_AMBIGUOUS

# ----------------------------------------------------------------------------------------------------------------
# Multiclass: support tickets. Card, charge, account and order words appear in several queues.

TICKETS = {
    "billing": [
        "I was charged twice for my {product} order {order}, please refund {amount}",
        "why is there a charge of {amount} on my card? I cancelled my {product} last month",
        "can I get an invoice for order {order}? need it for expenses",
        "my subscription renewed at {amount} instead of the discounted price",
        "refund for {order} still not on my card after {days} days",
        "please update the billing address on my account, the invoice shows the old one",
        "the promo code didn't apply and I paid full price {amount} for the {product}",
        "how do I cancel auto renewal before I'm charged again",
        "you took {amount} from my account but the order {order} shows unpaid",
        "I'd like to change my payment method from card to paypal",
        "the price on the checkout page was {amount} but I was billed more",
        "got a payment failed email but the money left my bank, order {order}",
    ],
    "technical": [
        "{app} shows {error} when I try to log in on my {device}",
        "the {product} won't connect to wifi after the update",
        "{app} keeps crashing on my {device} since yesterday",
        "I get {error} when uploading files, tried two browsers",
        "my {product} is stuck on the setup screen, tried restarting",
        "notifications stopped working on {device}, settings look fine",
        "sync between {app} and my {product} fails with {error}",
        "the download link for the {product} firmware is broken",
        "after the update {app} is really slow and freezes",
        "bluetooth pairing with my {product} fails every time on {device}",
        "search in {app} returns nothing, even for my past orders",
        "the page gives {error} when I click pay, cannot complete the order",
    ],
    "account": [
        "how do I change the email address on my account",
        "I want to delete my account and all my data",
        "can't reset my password, the reset email never arrives",
        "please merge my two accounts, I used different emails",
        "how do I add a second user to my {product} account",
        "my username shows the wrong name, how do I change it",
        "I'd like to download a copy of my account data",
        "locked out of my account after too many password attempts",
        "how do I turn on two factor authentication in {app}",
        "update the phone number on my profile please",
        "how can I unsubscribe from the marketing emails",
    ],
    "shipping": [
        "order {order} hasn't arrived, it's been {days} days",
        "tracking for {order} hasn't updated since it left the {courier} depot",
        "{courier} says delivered but there is no parcel at my door",
        "can I change the delivery address for order {order}",
        "my {product} arrived damaged, the box was crushed",
        "wrong item delivered, I ordered a {product}",
        "when will order {order} be shipped? I paid for express",
        "how do I return the {product}, I need a return label",
        "the parcel was left with a neighbour I don't know, order {order}",
        "is international delivery available for the {product}",
    ],
    "security": [
        "someone logged into my account from another country, I didn't do this",
        "I got an email asking me to verify my card at {url}, is it from you?",
        "there are orders on my account I never placed, {order} and more",
        "my password was changed and I didn't do it, please lock my account",
        "unknown charge of {amount} on my card from your store, I think my card was stolen",
        "I received a text saying my account is suspended with a link, is this phishing",
        "someone called pretending to be support and asked for my login code",
        "my email was changed on the account without my permission",
    ],
}
# Tickets that two queues both receive, depending on what the agent finds: the overlap a model cannot resolve.
for queue, shared in [("billing", "there is a charge of {amount} on my card I don't recognise"),
                      ("security", "there is a charge of {amount} on my card I don't recognise"),
                      ("shipping", "where is the refund for the {product} I sent back"),
                      ("billing", "where is the refund for the {product} I sent back"),
                      ("technical", "I can't log in to my account on my {device}"),
                      ("account", "I can't log in to my account on my {device}")]:
    TICKETS[queue].append(shared)

# Openers and closers wrapped around some bodies, as people write them; "" keeps the bare body likely.
FRAMES = {
    "sms": (["", "", "", "", "hey ", "hi ", "oi ", "{name} ", "ok so ", "btw ", "hiya, ", "omg "],
            ["", "", "", "", " x", " xx", " cheers", " ta", " - {name}", " lol", " thx", " :)"]),
    "ticket": (["", "", "", "Hi, ", "Hello, ", "Hi team, ", "Hello support, ", "Urgent: ", "Hi there, ",
                "Good morning, ", "Dear support, "],
               ["", "", "", " Thanks", " thank you", " Regards, {customer}", " Please help.", " Thanks, {customer}",
                " ASAP please", " Kind regards", " Cheers"]),
}

# Text-speak substitutions for the SMS noise; the ticket noise only uses typos and case.
TEXT_SPEAK = {"you": "u", "are": "r", "to": "2", "for": "4", "tomorrow": "tmrw", "please": "pls",
              "tonight": "2nite", "great": "gr8", "your": "ur", "be": "b", "see": "c", "thanks": "thx"}


def fill(template: str, rng: np.random.Generator) -> str:
    """Replace each ``{slot}`` with a random choice from ``SLOTS``."""
    return re.sub(r"\{(\w+)\}", lambda m: SLOTS[m.group(1)][rng.integers(len(SLOTS[m.group(1)]))], template)


def typo(word: str, rng: np.random.Generator) -> str:
    """One keyboard slip: swap, drop or double a letter."""
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(3)
    if kind == 0:
        return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def frame(body: str, style: str, rng: np.random.Generator) -> str:
    """Wrap ``body`` in a random opener and closer of ``FRAMES[style]``."""
    openers, closers = FRAMES[style]
    return openers[rng.integers(len(openers))] + body + closers[rng.integers(len(closers))]


def add_noise(text: str, rng: np.random.Generator, text_speak: bool) -> str:
    """Typos, optional text-speak, and case/punctuation variation, like real user-typed text."""
    words = text.split(" ")
    for k, word in enumerate(words):
        u = rng.random()
        if text_speak and word.lower() in TEXT_SPEAK and u < 0.35:
            words[k] = TEXT_SPEAK[word.lower()]
        elif u < 0.04:
            words[k] = typo(word, rng)
    text = " ".join(words)
    u = rng.random()
    if u < 0.1:
        text = text.upper()
    elif u < 0.35:
        text = text[:1].upper() + text[1:]
    elif u < 0.45:
        text = text.lower()
    u = rng.random()
    if u < 0.15:
        text += rng.choice(["!", "!!", "...", " :)", " x", "?", " pls"])
    return text


def make_rows(templates: dict[str, list[str]], counts: dict[str, int], rng: np.random.Generator,
              text_speak: bool, duplicate_share: float, label_noise: float) -> pd.DataFrame:
    """``sum(counts)`` shuffled rows (text, label) with exactly ``counts`` rows per label.

    About ``duplicate_share`` of the rows repeat an earlier text of the same class, and ``label_noise`` of the rows
    swap labels in pairs (so the counts stay exact): real annotations are not perfect either.
    """
    labels = np.repeat(list(counts), list(counts.values()))
    rng.shuffle(labels)
    texts: list[str] = []
    for label in labels:
        if texts and rng.random() < duplicate_share:
            # Duplicate an earlier text of the same class: real dumps hold forwarded and resent messages.
            same = [t for t, l in zip(texts, labels) if l == label]
            if same:
                texts.append(same[rng.integers(len(same))])
                continue
        pool = templates[label]
        body = frame(pool[rng.integers(len(pool))], "sms" if text_speak else "ticket", rng)
        texts.append(add_noise(fill(body, rng), rng, text_speak))
    n_swaps = round(label_noise * len(labels) / 2)
    first, second = rng.permutation(len(labels))[: 2 * n_swaps].reshape(2, -1)
    labels[first], labels[second] = labels[second], labels[first].copy()
    return pd.DataFrame({"text": texts, "label": labels})


def write_competition(rows: pd.DataFrame, n_test: int, default_label: str, out: Path,
                      rng: np.random.Generator) -> None:
    """Split ``rows`` into train/test (stratified by shuffling within class) and write the four CSVs."""
    test_mask = np.zeros(len(rows), dtype=bool)
    share = n_test / len(rows)
    for label in sorted(rows["label"].unique()):
        idx = np.flatnonzero(rows["label"].to_numpy() == label)
        test_mask[rng.permutation(idx)[: round(share * len(idx))]] = True
    train, test = rows[~test_mask].reset_index(drop=True), rows[test_mask].reset_index(drop=True)
    train.insert(0, "id", [f"tr{i:05d}" for i in range(len(train))])
    test.insert(0, "id", [f"te{i:05d}" for i in range(len(test))])
    out.mkdir(parents=True, exist_ok=True)
    csv = {"index": False, "lineterminator": "\n"}
    train.to_csv(out / "train.csv", **csv)
    test[["id", "text"]].to_csv(out / "test.csv", **csv)
    test[["id", "label"]].to_csv(out / "solution.csv", **csv)
    pd.DataFrame({"id": test["id"], "label": default_label}).to_csv(out / "sample_submission.csv", **csv)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="folder to write binary/ and multiclass/ into")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    sms = make_rows({"ham": HAM, "spam": SPAM}, {"ham": 2300, "spam": 200}, rng, text_speak=True,
                    duplicate_share=0.03,
                    label_noise=0.02)
    write_competition(sms, n_test=500, default_label="ham", out=args.out / "binary", rng=rng)

    counts = {"billing": 570, "technical": 530, "account": 370, "shipping": 295, "security": 135}
    tickets = make_rows(TICKETS, counts, rng, text_speak=False, duplicate_share=0.02, label_noise=0.02)
    write_competition(tickets, n_test=400, default_label="billing", out=args.out / "multiclass", rng=rng)


if __name__ == "__main__":
    main()
