"""A deterministic, generated help centre for bench/ingest.py: Markdown articles (about 3% French) with
front matter, plus a ticket export with personal data, written to a folder."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BRAND = "Orbitly"

# -- corpus vocabularies ------------------------------------------------------------------------------------------

TOPICS: dict[str, tuple[list[str], list[str]]] = {  # topic -> (features, products)
    "billing": (["invoice", "subscription", "payment method", "seat count", "annual plan", "refund", "tax ID",
                 "credit note", "billing e-mail", "promo code", "proration", "receipt"],
                ["Stripe", "PayPal", "QuickBooks", "Xero", "SEPA Direct Debit", "Apple Pay"]),
    "accounts": (["profile", "e-mail address", "password", "workspace owner", "account deletion", "display name",
                  "time zone", "language setting", "guest access", "member invitation"],
                 ["Google sign-in", "Microsoft sign-in", "Apple sign-in", "web app"]),
    "integrations": (["webhook", "Slack notification", "calendar sync", "Jira link", "two-way sync", "field mapping",
                      "OAuth connection", "Zapier trigger"],
                     ["Slack", "Google Calendar", "Jira", "GitHub", "GitLab", "Salesforce", "HubSpot", "Zapier",
                      "Microsoft Teams", "Outlook", "Trello", "Asana", "Notion"]),
    "mobile": (["offline mode", "push notification", "timer widget", "home-screen widget", "biometric unlock",
                "background sync", "app update", "location reminder"],
               ["iOS app", "Android app", "Apple Watch app", "iPad app", "Wear OS app"]),
    "api": (["API key", "personal access token", "rate limit", "pagination cursor", "webhook signature",
             "REST endpoint", "OAuth app", "sandbox workspace", "idempotency key", "bulk endpoint"],
            ["REST API v2", "GraphQL API", "Python SDK", "JavaScript SDK", "command-line tool"]),
    "security": (["two-factor authentication", "single sign-on", "SCIM provisioning", "audit log", "session timeout",
                  "IP allowlist", "data retention policy", "password policy", "security key", "encryption key"],
                 ["Okta", "Azure AD", "Google Workspace", "OneLogin", "JumpCloud", "YubiKey"]),
    "data": (["CSV export", "data import", "backup", "project archive", "Trash", "custom field", "report filter",
              "data residency"],
             ["Excel", "Google Sheets", "Power BI", "Looker Studio", "Tableau"]),
    "time-tracking": (["timer", "timesheet", "project budget", "billable rate", "task template", "approval workflow",
                       "time entry", "estimate", "recurring task"],
                      ["desktop app", "browser extension", "web app", "Chrome extension"]),
    "notifications": (["e-mail digest", "mention", "reminder", "due-date alert", "notification schedule",
                       "do-not-disturb window"],
                      ["web app", "iOS app", "Android app", "Slack", "Microsoft Teams"]),
}
ACTIONS = ["set up", "turn on", "turn off", "change", "update", "remove", "export", "import", "connect", "disconnect",
           "reset", "share", "archive", "restore", "transfer", "review", "schedule", "limit", "verify", "rename"]
MENUS = ["Settings", "Admin", "Billing", "Security", "Integrations", "Profile", "Workspace", "Developer", "Data",
         "Notifications", "Reports", "Members", "Plan", "Advanced"]
ROLES = ["Owner", "Admin", "Manager", "Member", "Billing admin"]
PLANS = ["Starter", "Team", "Business", "Enterprise"]
ERRORS = ["401 Unauthorized", "403 Forbidden", "409 Conflict", "422 Unprocessable Entity", "429 Too Many Requests",
          "ERR_SYNC_TIMEOUT", "ERR_TOKEN_EXPIRED", "ERR_SEAT_LIMIT", "ERR_FIELD_MISSING"]

EN_TITLES = ["How to {action} {a_feature}", "{Feature}: frequently asked questions", "Set up {feature} with {product}",
             "Troubleshoot {feature} in the {product}", "Manage {feature} for your workspace",
             "Why can't I {action} {a_feature}?", "{Feature} limits and quotas", "Connect {product} to " + BRAND,
             "Understanding {feature} on the {plan} plan", "{Action} {feature} in bulk", "Fix '{error}' when using {product}"]
EN_HEADINGS = ["Before you start", "{Action} {feature}", "Who can {action} {a_feature}", "Troubleshooting",
               "Limits", "Frequently asked questions", "Use {feature} with {product}", "On the {product}",
               "What happens to existing {feature}s", "Plans and availability", "If you see '{error}'",
               "Undo a change", "Related settings", "Audit and history"]
EN_SENTENCES = [
    "{Feature} lets you keep {feature}s consistent across every project in your workspace.",
    "You can {action} {a_feature} from the web app or the {product}, and the change applies within {n} seconds.",
    "Only people with the {role} role can {action} {a_feature} on the {plan} plan.",
    "{Feature} is available on the {plan} and Enterprise plans; on Free it is read-only.",
    "If your workspace uses {product}, the {feature} is synced every {n} minutes.",
    "Changes to {a_feature} are recorded in the audit log for {days} days.",
    "A workspace can have up to {big} {feature}s; ask us if you need more.",
    "When you {action} {a_feature}, everyone who follows it gets a notification.",
    "We recommend testing {feature} changes in a sandbox workspace before rolling them out to {big} people.",
    "Most requests finish in under {n} seconds, but large workspaces can take up to {hours} hours.",
    "If the button is greyed out, check that your role is {role} or higher.",
    "{BRAND} keeps a copy of the previous {feature} for {days} days, so you can restore it from Trash.",
    "The {product} shows the same {feature} as the web app once it has synced.",
    "You'll receive a confirmation e-mail within {n} minutes; check your spam folder if it doesn't arrive.",
    "Errors such as '{error}' usually mean the connection to {product} has expired.",
    "Prices shown exclude VAT; the {plan} plan costs ${price} per seat per month when billed yearly.",
    "Admins can limit who may {action} {a_feature} in {menu} > {menu2}.",
    "Exports include every {feature} created in the last {days} days, in CSV and JSON.",
    "This setting is per workspace: if you belong to {n} workspaces, change it in each of them.",
    "Your data stays in the region chosen when the workspace was created (EU or US).",
    "The {feature} counts toward your plan's limit of {big} items.",
    "If {product} rejects the request, {BRAND} retries it {n} times over {hours} hours before giving up.",
    "Guests never see {feature}s unless a {role} shares them explicitly.",
    "Version {version} of the {product} added support for {feature}s.",
]
EN_STEPS = [
    "Go to **{menu} > {menu2}**.", "Click **{Action} {feature}**.", "Select the {feature} you want to {action}.",
    "Choose **{product}** from the list and sign in when asked.", "Enter your password to confirm.",
    "Set **Limit** to {n} and click **Save**.", "Review the summary and click **Confirm**.",
    "Open the {product} and pull down to refresh.", "Copy the {feature} ID shown under **Details**.",
    "Wait up to {n} minutes, then reload the page.", "Tick **Apply to all projects** if you want the same {feature} everywhere.",
    "Click **Test connection**; a green check means {product} accepted the request.",
]
EN_BULLETS = [
    "**{Feature}**: available on {plan} and above.", "Up to {big} {feature}s per workspace.",
    "Synced with {product} every {n} minutes.", "Kept for {days} days after deletion.",
    "Requires the {role} role.", "Shown in **{menu} > {menu2}**.", "Not available for guests.",
    "Exported as CSV, JSON or XLSX.", "Counts toward the API rate limit of {big} requests per hour.",
    "Works offline in the {product}; changes sync when you reconnect.",
]
EN_NOTES = ["**Note:** {sentence}", "**Tip:** {sentence}", "**Important:** {sentence}"]
EN_INTROS = ["This article explains how to {action} {a_feature} in {BRAND}.",
             "{Feature} helps teams on the {plan} plan work with {product} without leaving {BRAND}.",
             "Here's everything you need to know about {feature}s: who can change them, limits and common problems."]

FR_TITLES = ["Comment {action_fr} {feature_fr}", "{Feature_fr} : questions fréquentes", "Configurer {feature_fr} avec {product}",
             "Résoudre un problème de {feature_fr}"]
FR_HEADINGS = ["Avant de commencer", "Activer {feature_fr}", "Qui peut modifier {feature_fr}", "Dépannage", "Limites",
               "Questions fréquentes", "Avec {product}", "Offres concernées"]
FR_SENTENCES = [
    "Vous pouvez {action_fr} {feature_fr} depuis l'application web ou {product} ; la modification s'applique en {n} secondes.",
    "Seuls les utilisateurs ayant le rôle {role} peuvent {action_fr} {feature_fr} avec l'offre {plan}.",
    "Les modifications sont conservées dans le journal d'audit pendant {days} jours.",
    "Un espace de travail peut contenir jusqu'à {big} éléments de ce type.",
    "Si le bouton est grisé, vérifiez que votre rôle est {role} ou supérieur.",
    "La synchronisation avec {product} a lieu toutes les {n} minutes.",
    "Vous recevrez un e-mail de confirmation dans les {n} minutes ; vérifiez vos courriers indésirables.",
    "Une erreur « {error} » signifie en général que la connexion à {product} a expiré.",
    "Les prix sont indiqués hors TVA ; l'offre {plan} coûte {price} € par siège et par mois en facturation annuelle.",
    "Vos données restent dans la région choisie à la création de l'espace (UE ou États-Unis).",
]
FR_STEPS = ["Ouvrez **{menu} > {menu2}**.", "Cliquez sur **Enregistrer**.", "Choisissez **{product}** dans la liste.",
            "Saisissez votre mot de passe pour confirmer.", "Patientez jusqu'à {n} minutes, puis rechargez la page.",
            "Vérifiez le récapitulatif et cliquez sur **Confirmer**.", "Sélectionnez l'élément à {action_fr}.",
            "Cliquez sur **Tester la connexion** ; une coche verte indique que {product} a accepté la demande."]
FR_BULLETS = ["Disponible avec l'offre {plan} et au-delà.", "Jusqu'à {big} éléments par espace de travail.",
              "Synchronisé avec {product} toutes les {n} minutes.", "Conservé {days} jours après suppression.",
              "Réservé au rôle {role}.", "Non disponible pour les invités."]
FR_NOTES = ["**Remarque :** {sentence}", "**Astuce :** {sentence}"]
FR_INTROS = ["Cet article explique comment {action_fr} {feature_fr} dans {BRAND}.",
             "Voici ce qu'il faut savoir sur {feature_fr} : qui peut le modifier, les limites et les problèmes courants."]
FR_ACTIONS = ["configurer", "activer", "désactiver", "modifier", "supprimer", "exporter", "importer", "connecter",
              "réinitialiser", "partager", "archiver", "restaurer"]
FR_FEATURES = ["la facture", "l'abonnement", "le moyen de paiement", "l'authentification à deux facteurs",
               "l'authentification unique (SSO)", "le mot de passe", "l'export CSV", "le minuteur", "la feuille de temps",
               "le webhook", "la clé API", "les notifications", "le journal d'audit", "l'application mobile"]

FIRST = ["Maria", "Tom", "Aisha", "Lukas", "Chloé", "Dev", "Eva", "Femi", "Hiro", "Ines", "Jonas", "Priya", "Sam", "Zoé"]
LAST = ["Gonzalez", "Becker", "Okafor", "Martin", "Patel", "Novak", "Adeyemi", "Tanaka", "Silva", "Müller", "Dubois"]
AGENTS = ["Tom Becker", "Hannah Okafor", "Leo Brandt", "Nadia Rossi", "Kofi Mensah"]
COMPANIES = ["Acme Logistics", "Northwind", "Bluebird Studio", "Helios Energy", "Kestrel Legal", "Pinecone Media"]


# -- corpus generation --------------------------------------------------------------------------------------------

class _Filler:
    """Fills templates for one document: a topic, a main feature and product, random numbers for the rest."""

    def __init__(self, rng: random.Random, topic: str) -> None:
        self.rng = rng
        features, products = TOPICS[topic]
        self.feature, self.product = rng.choice(features), rng.choice(products)
        self.features, self.products = features, products
        self.action = rng.choice(ACTIONS)
        self.feature_fr, self.action_fr = rng.choice(FR_FEATURES), rng.choice(FR_ACTIONS)

    def __call__(self, template: str) -> str:
        r = self.rng
        feature = self.feature if r.random() < 0.6 else r.choice(self.features)
        action = self.action if r.random() < 0.5 else r.choice(ACTIONS)
        menu, menu2 = r.sample(MENUS, 2)
        article = "an" if feature[0].lower() in "aeiou" else "a"
        out = template.format(
            feature=feature, Feature=feature[0].upper() + feature[1:], a_feature=f"{article} {feature}",
            action=action, Action=action.capitalize(), product=self.product if r.random() < 0.7 else r.choice(self.products),
            menu=menu, menu2=menu2, role=r.choice(ROLES), plan=r.choice(PLANS), error=r.choice(ERRORS),
            n=r.randint(2, 60), days=r.choice([7, 14, 30, 60, 90, 180, 365]), hours=r.randint(2, 48),
            big=r.choice([10, 25, 50, 100, 250, 500, 1000, 5000]), price=r.choice([8, 10, 12, 15, 19, 24, 29]),
            version=f"{r.randint(3, 9)}.{r.randint(0, 20)}", BRAND=BRAND, feature_fr=self.feature_fr,
            Feature_fr=self.feature_fr[0].upper() + self.feature_fr[1:], action_fr=self.action_fr, sentence="{sentence}")
        return out

    def sentences(self, templates: list[str], k: int) -> str:
        return " ".join(self(t) for t in self.rng.choices(templates, k=k))


def article(rng: random.Random, index: int, french: bool) -> tuple[str, str, int]:
    """One help-centre article: (relative path, Markdown text, word count)."""
    topic = rng.choice(list(TOPICS))
    fill = _Filler(rng, topic)
    titles, headings, sentences, steps, bullets, notes, intros = (
        (FR_TITLES, FR_HEADINGS, FR_SENTENCES, FR_STEPS, FR_BULLETS, FR_NOTES, FR_INTROS) if french else
        (EN_TITLES, EN_HEADINGS, EN_SENTENCES, EN_STEPS, EN_BULLETS, EN_NOTES, EN_INTROS))
    title = fill(rng.choice(titles))
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] + f"-{index}"
    updated = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
    target = rng.randint(300, 900)
    n_sections = rng.randint(3, max(3, min(8, target // 100)))  # short articles have few sections
    intro = fill(rng.choice(intros)) + " " + fill.sentences(sentences, rng.randint(1, 3))
    body: list[str] = [intro, ""]
    words = len(intro.split())
    budget = max(40, (target - words) // n_sections)
    used_headings: set[str] = set()
    for _ in range(n_sections):
        heading = fill(rng.choice(headings))
        while heading in used_headings:
            heading = fill(rng.choice(headings))
        used_headings.add(heading)
        section = [f"## {heading}", ""]
        section_words = 0
        # a lead-in paragraph and a list, then more until the budget; never two lists in a row
        kinds = ["para", rng.choice(["steps", "bullets"])]
        kind = ""
        while kinds or section_words < 0.8 * budget:
            lists_ok = kind in ("para", "note")
            kind = kinds.pop(0) if kinds else rng.choice(["para", "para", "steps", "bullets", "note"] if lists_ok
                                                         else ["para", "para", "note"])
            if kind == "para":
                block = [fill.sentences(sentences, rng.randint(1, 3))]
            elif kind == "steps":
                block = [f"{i}. {fill(t)}" for i, t in enumerate(rng.sample(steps, rng.randint(3, 7)), 1)]
            elif kind == "bullets":
                block = [f"- {fill(t)}" for t in rng.sample(bullets, rng.randint(2, 5))]
            else:
                block = [fill(rng.choice(notes)).replace("{sentence}", fill(rng.choice(sentences)))]
            section += [*block, ""]
            section_words += sum(len(line.split()) for line in block)
        body += section
        words += section_words + len(heading.split())
    url_prefix = "fr/articles" if french else "articles"
    front = ["---", f"title: {json.dumps(title, ensure_ascii=False)}",
             f"url: https://help.orbitly.example/{url_prefix}/{slug}", f"updated_at: {updated.isoformat()}", "---", ""]
    folder = f"fr/{topic}" if french else topic
    return f"{folder}/{slug}.md", "\n".join(front + body), words


def ticket(rng: random.Random, ticket_id: int) -> dict[str, Any]:
    """One ticket in the shape of kb/tickets/tickets.json, with personal data in the text."""
    topic = rng.choice(list(TOPICS))
    fill = _Filler(rng, topic)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name, company, agent = f"{first} {last}", rng.choice(COMPANIES), rng.choice(AGENTS)
    domain = re.sub(r"[^a-z]", "", company.lower()) + ".example"
    email = f"{first.lower().replace('é', 'e')}.{last.lower().replace('ü', 'u')}@{domain}"
    phone = f"+1 {rng.choice([212, 415, 646, 312])}-555-{rng.randint(100, 9999):04d}"
    created = datetime(2026, 1, 1, 8, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 200 * 24 * 60))
    pii = rng.choice([f"My card ending 4242 (4242 4242 4242 4242) was charged twice for INV-2026-{rng.randint(100, 99999):05d}.",
                      f"I'm connecting from 203.0.113.{rng.randint(1, 254)} if that helps.",
                      f"Our billing address is {rng.randint(1, 400)} Market Street, San Francisco, CA 94105.",
                      f"You can also reach my colleague at {rng.choice(FIRST).lower()}@{domain}."])
    description = (f"Hello,\n\nI'm trying to {fill.action} {fill.feature} with {fill.product} but it doesn't work. "
                   f"{fill(rng.choice(EN_SENTENCES))} {pii}\n\nThanks,\n{name}\n{company}\n{phone}")
    status = rng.choices(["solved", "closed", "open", "pending", "new"], weights=[70, 12, 8, 6, 4])[0]
    at = [created]
    for _ in range(4):
        at.append(at[-1] + timedelta(minutes=rng.randint(10, 600)))
    at = at[1:]
    comments = [
        {"author_role": "agent", "author_name": agent, "public": False, "created_at": at[0].isoformat().replace("+00:00", "Z"),
         "body": f"Checked {name}'s workspace: {fill(rng.choice(EN_SENTENCES))} Known issue ORB-{rng.randint(1000, 9999)}."},
        {"author_role": "agent", "author_name": agent, "public": True, "created_at": at[1].isoformat().replace("+00:00", "Z"),
         "body": f"Hi {first},\n\nThanks for reaching out. {fill.sentences(EN_SENTENCES, 2)}\n\n"
                 + "\n".join(f"{i}. {fill(t)}" for i, t in enumerate(rng.sample(EN_STEPS, 3), 1))
                 + f"\n\nBest regards,\n{agent.split()[0]}\n{BRAND} Support"},
        {"author_role": "customer", "author_name": name, "public": True, "created_at": at[2].isoformat().replace("+00:00", "Z"),
         "body": rng.choice(["That worked, thank you!", f"Perfect, all sorted. Call me on {phone} if you need anything.",
                             "Thanks, it's fixed now."])},
    ]
    return {
        "id": ticket_id, "subject": f"Can't {fill.action} {fill.feature} ({fill.product})", "description": description,
        "status": status,
        "category": topic if topic in ("billing", "integrations", "mobile", "security", "data") else "technical",
        "priority": rng.choice(["low", "normal", "normal", "high", "urgent"]),
        "tags": sorted({topic, fill.feature.replace(" ", "-").lower()}),
        "requester": {"name": name, "email": email}, "assignee": {"name": agent},
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "solved_at": at[3].isoformat().replace("+00:00", "Z") if status in ("solved", "closed") else None,
        "comments": comments,
        "resolution": fill.sentences(EN_SENTENCES, 2) if status in ("solved", "closed") else "",
    }


def write_corpus(root: Path, docs: int, seed: int) -> dict[str, Any]:
    """Articles under root/articles, one export under root/tickets; returns corpus statistics."""
    rng = random.Random(seed)
    articles, exports = root / "articles", root / "tickets"
    words: list[int] = []
    french = 0
    for i in range(docs):
        is_fr = rng.random() < 0.03
        rel, text, n = article(rng, i, is_fr)
        path = articles / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        words.append(n)
        french += is_fr
    rows = [ticket(rng, 100000 + i) for i in range(max(1, round(docs * 0.1)))]
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "tickets.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return {"articles": docs, "french_articles": french, "tickets": len(rows),
            "solved_tickets": sum(r["status"] in ("solved", "closed") for r in rows),
            "avg_words": sum(words) / len(words) if words else 0, "min_words": min(words, default=0),
            "max_words": max(words, default=0), "corpus_mb": size / 1e6}


def edit_files(paths: list[Path], rng: random.Random) -> None:
    """A KB editor's change: one sentence added to a paragraph, and the updated_at date moved on."""
    for path in paths:
        lines = path.read_text(encoding="utf-8").split("\n")
        paragraphs = [i for i, line in enumerate(lines) if line and line[0].isupper() and not line.startswith("---")]
        i = rng.choice(paragraphs)
        lines[i] += f" Since release {rng.randint(10, 99)}.{rng.randint(0, 9)} this also works in the mobile apps."
        text = re.sub(r"^updated_at: .*$", "updated_at: 2026-12-01", "\n".join(lines), count=1, flags=re.M)
        path.write_text(text, encoding="utf-8")
