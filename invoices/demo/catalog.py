"""Fixed vocabularies of the demo world: who the customers are, what the seller sells,
how money moves and how it fails. Plain data; the generator draws from it."""

from __future__ import annotations

# --- Customers -------------------------------------------------------------------------

NAME_PREFIXES = (
    "Northwind", "Blue Ridge", "Cedar", "Summit", "Harbor", "Ironwood", "Granite", "Pioneer",
    "Redline", "Lakeshore", "Silverline", "Keystone", "Riverbend", "Oakmont", "Brightwater",
    "Copperfield", "Westgate", "Eastfield", "Highland", "Maple", "Falcon", "Atlas", "Beacon",
    "Crescent", "Evergreen", "Frontier", "Golden Gate", "Hawthorne", "Juniper", "Kingsley",
    "Lighthouse", "Meridian", "Newport", "Orion", "Prairie", "Quarry", "Rockport", "Sterling",
    "Tidewater", "Union", "Vanguard", "Whitestone", "Yellowstone", "Zenith", "Alder", "Birch",
    "Clearwater", "Driftwood", "Elmhurst", "Foxglove", "Greystone", "Hillcrest", "Ivy Lane",
    "Jasper", "Kestrel", "Larkspur", "Mistral", "Northgate", "Osprey", "Pinecrest", "Ravenwood",
)  # fmt: skip

NAME_NOUNS = {
    "Manufacturing": ("Fabrication", "Machine Works", "Components", "Industries", "Tooling"),
    "Construction": ("Builders", "Contracting", "Construction", "Site Services", "Homes"),
    "Retail": ("Outfitters", "Supply Store", "Home & Garden", "Hardware", "Trading Post"),
    "Wholesale": ("Distribution", "Wholesale", "Supply Co", "Trading", "Merchants"),
    "Healthcare": ("Medical Group", "Health Systems", "Clinics", "Labs", "Care Partners"),
    "Logistics": ("Logistics", "Freight", "Transport", "Warehousing", "Fleet Services"),
    "Automotive": ("Motors", "Auto Parts", "Collision Center", "Fleet Repair", "Dealer Group"),
    "Energy": ("Energy", "Power", "Solar", "Utilities", "Field Services"),
    "Food & Beverage": ("Foods", "Brewing", "Bakeries", "Provisions", "Packing"),
    "Technology": ("Systems", "Robotics", "Labs", "Devices", "Automation"),
    "Hospitality": ("Hotels", "Resorts", "Hospitality Group", "Catering", "Venues"),
    "Education": ("Academy", "College", "School District", "Learning Center", "Institute"),
}
INDUSTRIES = tuple(NAME_NOUNS)
# How many days later (or earlier) than its segment an industry typically pays: construction
# and healthcare are notoriously slow, technology and energy are quick.
INDUSTRY_DELAY = {
    "Manufacturing": 0.0,
    "Construction": 7.0,
    "Retail": 2.0,
    "Wholesale": 1.0,
    "Healthcare": 6.0,
    "Logistics": 3.0,
    "Automotive": 1.0,
    "Energy": -3.0,
    "Food & Beverage": 2.0,
    "Technology": -3.0,
    "Hospitality": 4.0,
    "Education": 5.0,
}
INDUSTRY_WEIGHTS = (0.16, 0.12, 0.10, 0.12, 0.07, 0.08, 0.08, 0.05, 0.07, 0.06, 0.05, 0.04)
LEGAL_SUFFIX = {
    "US": ("Inc.", "LLC", "Co.", "Corp."),
    "CA": ("Ltd.", "Inc.", "Corp."),
    "GB": ("Ltd", "PLC", "Limited"),
    "DE": ("GmbH", "AG", "GmbH & Co. KG"),
    "FR": ("SAS", "SA", "SARL"),
    "NL": ("B.V.", "N.V."),
    "IE": ("Ltd", "DAC"),
    "ES": ("S.L.", "S.A."),
    "IT": ("S.r.l.", "S.p.A."),
}

# Countries that use each currency, with weights; base-currency customers are domestic.
CURRENCY_COUNTRIES = {
    "USD": (("US",), (1.0,)),
    "CAD": (("CA",), (1.0,)),
    "GBP": (("GB",), (1.0,)),
    "EUR": (("DE", "FR", "NL", "IE", "ES", "IT"), (0.32, 0.22, 0.14, 0.1, 0.11, 0.11)),
}
SUPPORTED_BASE_CURRENCIES = tuple(CURRENCY_COUNTRIES)
# Southern-European payment culture runs slower; Germany and the Netherlands pay promptly.
COUNTRY_DELAY = {"US": 0.0, "CA": 1.0, "GB": 2.0, "DE": -3.0, "NL": -2.0, "FR": 4.0}
COUNTRY_DELAY.update({"IE": 1.0, "ES": 9.0, "IT": 11.0})
COUNTRY_LANGUAGE = {"DE": "de", "FR": "fr", "NL": "nl", "ES": "es", "IT": "it"}
COUNTRY_PHONE = {"US": "+1", "CA": "+1", "GB": "+44", "DE": "+49", "FR": "+33", "NL": "+31"}
COUNTRY_PHONE.update({"IE": "+353", "ES": "+34", "IT": "+39"})
# (exempt probability, rates a taxable customer is charged): US B2B manufacturing sales are
# mostly resale/manufacturing-exempt; EU cross-border B2B is reverse-charged (0%).
COUNTRY_TAX = {
    "US": (0.6, (0.04, 0.0625, 0.07, 0.0825, 0.08875)),
    "CA": (0.1, (0.05, 0.13, 0.15)),
    "GB": (0.05, (0.20,)),
    "DE": (0.5, (0.19,)),
    "FR": (0.5, (0.20,)),
    "NL": (0.5, (0.21,)),
    "IE": (0.5, (0.23,)),
    "ES": (0.5, (0.21,)),
    "IT": (0.5, (0.22,)),
}
CURRENCY_SYMBOL = {"USD": "$", "CAD": "C$", "GBP": "£", "EUR": "€"}
# Units of each currency per US dollar at the start of the window (a random walk follows).
USD_PER_UNIT = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CAD": 0.74}

PAYMENT_TERMS = (15, 30, 45, 60)
PAYMENT_TERMS_WEIGHTS = (0.15, 0.5, 0.2, 0.15)

FIRST_NAMES = (
    "Maria", "James", "Priya", "Chen", "Olivia", "Ahmed", "Sofia", "Lukas", "Emma", "Noah",
    "Grace", "Mateo", "Hannah", "Ravi", "Claire", "Tomás", "Aisha", "Jonas", "Elena", "Sam",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Smith", "Patel", "Wang", "Johnson", "Müller", "Rossi", "Dubois", "Brown",
    "Kowalski", "Nguyen", "O'Brien", "Schmidt", "Martin", "Lopez", "Evans", "Kim", "Silva",
)  # fmt: skip

# --- What the seller (a mid-size industrial manufacturer) sells -------------------------
# (description, unit price in the invoice currency, typical quantity, popularity)
PRODUCTS = (
    ("Stainless hex bolt M8x40, box of 100", 38.50, 20, 8),
    ("Hex nut M8 zinc-plated, box of 500", 24.90, 15, 6),
    ("Hydraulic hose assembly 1/2in x 36in", 64.00, 12, 5),
    ("Hydraulic gear pump HP-200", 1240.00, 2, 2),
    ("Pneumatic cylinder 50mm bore x 200mm", 189.00, 6, 4),
    ("Solenoid valve 24V DC 1/4in NPT", 72.40, 10, 5),
    ("Conveyor belt PVC 600mm x 10m", 845.00, 2, 2),
    ("Roller chain #60, 10 ft", 58.75, 8, 4),
    ("Deep groove ball bearing 6205-2RS", 9.80, 60, 7),
    ("Tapered roller bearing 30208", 27.30, 30, 4),
    ("V-belt B-section B48", 14.60, 24, 4),
    ("Timing pulley HTD 8M 32T", 46.20, 10, 3),
    ("Gear motor 0.75 kW 1:20", 612.00, 2, 2),
    ("Variable frequency drive 2.2 kW", 498.00, 2, 2),
    ("Proximity sensor M18 PNP", 31.90, 20, 4),
    ("Safety light curtain 600mm", 1380.00, 1, 1),
    ("Aluminium extrusion 40x40 slot 8, 6m", 71.00, 14, 5),
    ("Steel sheet 2mm 1250x2500", 142.00, 10, 3),
    ("Laser-cut bracket, custom part 4471-B", 6.85, 200, 4),
    ("CNC machined shaft, drawing 2290-A", 84.00, 25, 3),
    ("Welded frame assembly WF-12", 2150.00, 1, 1),
    ("Powder coating service, per batch", 420.00, 2, 2),
    ("CNC machining service (hour)", 95.00, 16, 4),
    ("Field service technician (hour)", 125.00, 8, 3),
    ("Preventive maintenance visit", 680.00, 1, 2),
    ("Spare parts kit SPK-300", 356.00, 3, 2),
    ("Industrial lubricant ISO VG 68, 20L", 118.00, 6, 3),
    ("Cutting fluid concentrate, 208L drum", 965.00, 1, 1),
    ("Nitrile work gloves, case of 12 boxes", 86.40, 5, 3),
    ("Pallet rack beam 2700mm", 48.90, 20, 3),
    ("Freight and handling", 145.00, 1, 4),
    ("Expedited shipping surcharge", 85.00, 1, 2),
    ("Calibration certificate", 65.00, 1, 1),
    ("Tooling setup charge", 250.00, 1, 2),
)

# --- How payments move and fail ----------------------------------------------------------
# Method preferences by invoice currency (method, weight).
METHODS_BY_CURRENCY = {
    "USD": (("ach", "check", "wire", "card"), (0.45, 0.2, 0.15, 0.2)),
    "CAD": (("ach", "wire", "check", "card"), (0.4, 0.3, 0.2, 0.1)),
    "EUR": (("sepa", "wire", "card"), (0.7, 0.2, 0.1)),
    "GBP": (("wire", "card", "other"), (0.6, 0.2, 0.2)),
}
PROCESSORS = {
    "card": "stripe",
    "ach": "jpmorgan_ach",
    "wire": "swift",
    "check": "lockbox",
    "sepa": "sepa_credit_transfer",
    "other": "bacs",
}
# Stripe-style decline codes with their customer-facing messages, and weights.
CARD_FAILURES = (
    ("card_declined", "The card was declined by the issuing bank.", 0.30),
    ("insufficient_funds", "The card has insufficient funds to complete the purchase.", 0.25),
    ("expired_card", "The card has expired.", 0.12),
    ("do_not_honor", "The issuer declined the charge with reason do_not_honor.", 0.15),
    ("processing_error", "An error occurred while processing the card; try again.", 0.08),
    ("incorrect_cvc", "The card's security code is incorrect.", 0.05),
    ("card_velocity_exceeded", "The customer has exceeded the card's spending limit.", 0.05),
)
# NACHA return reason codes.
ACH_FAILURES = (
    ("R01", "Insufficient funds", 0.45),
    ("R02", "Account closed", 0.08),
    ("R03", "No account / unable to locate account", 0.06),
    ("R04", "Invalid account number structure", 0.04),
    ("R08", "Payment stopped", 0.05),
    ("R09", "Uncollected funds", 0.10),
    ("R10", "Customer advises originator is not known or not authorized", 0.04),
    ("R16", "Account frozen / entry returned per OFAC instruction", 0.03),
    ("R20", "Non-transaction account", 0.03),
    ("R29", "Corporate customer advises not authorized", 0.12),
)
VOID_REASONS = (
    "Issued to the wrong customer account",
    "Duplicate of an invoice already issued",
    "Order cancelled before shipment",
    "Re-issued with corrected pricing",
    "Re-issued with corrected PO number",
)
