# SPDX-License-Identifier: GPL-2.0-or-later
"""Test identities of the NIA simulator and the attributes NIA would release for them.

Czech citizens carry NIA's full data set; foreigners coming through eIDAS carry only the
eIDAS minimal data set, with a pseudonym whose first part is their own country.
"""

import base64
import datetime
import hashlib
import uuid
from dataclasses import dataclass
from typing import Optional

NATURAL = "http://eidas.europa.eu/attributes/naturalperson/"
STORK = "http://www.stork.gov.eu/1.0/"
MORIS = "http://schemas.eidentita.cz/moris/2016/identity/claims/"
# Some integrations request the Czech claims under this namespace; NIA answers both.
MORIS_ALIAS = "http://schemas.identitaobcana.cz/moris/2016/identity/claims/"

PERSON_IDENTIFIER = NATURAL + "PersonIdentifier"
GIVEN_NAME = NATURAL + "CurrentGivenName"
FAMILY_NAME = NATURAL + "CurrentFamilyName"
DATE_OF_BIRTH = NATURAL + "DateOfBirth"
PLACE_OF_BIRTH = NATURAL + "PlaceOfBirth"
CURRENT_ADDRESS = NATURAL + "CurrentAddress"
BIRTH_NAME = NATURAL + "BirthName"  # eIDAS optional; mod_kmen maps it to no header of its own
EMAIL = STORK + "eMail"
AGE = STORK + "age"
IS_AGE_OVER = STORK + "isAgeOver"
COUNTRY_OF_BIRTH = STORK + "countryCodeOfBirth"
PHONE = MORIS + "phonenumber"
TR_ADDRESS_ID = MORIS + "tradresaid"
ID_TYPE = MORIS + "idtype"
ID_NUMBER = MORIS + "idnumber"

MINIMAL_SET = (PERSON_IDENTIFIER, GIVEN_NAME, FAMILY_NAME, DATE_OF_BIRTH)


@dataclass(frozen=True)
class Address:
    street: str
    number: str
    town: str
    post_code: str
    area: str
    ruian_code: str  # the address point in the Czech register of addresses (RÚIAN)


@dataclass(frozen=True)
class Person:
    country: str
    given: str
    family: str
    birth_date: str
    birth_place: Optional[str] = None
    email: Optional[str] = None
    phone: Optional[str] = None
    address: Optional[Address] = None
    id_type: Optional[str] = None
    id_number: Optional[str] = None

    @property
    def display_name(self):
        return f"{self.given} {self.family}"


IDENTITIES = {
    "cz-jiri": Person(
        country="CZ", given="Jiří", family="Dvořák", birth_date="1980-05-17",
        birth_place="Praha", email="jiri.dvorak@example.cz", phone="+420777123456",
        address=Address("Vodičkova", "681/18", "Praha", "11000", "Praha, Nové Město", "21710201"),
        id_type="ID", id_number="123456789"),
    # The population register keeps names in capitals, and NIA passes them on so.
    "cz-zofie": Person(
        country="CZ", given="ŽOFIE", family="ČERNÁ-NOVÁKOVÁ", birth_date="1992-02-29",
        birth_place="Brno", email="zofie@example.cz",
        address=Address("Kounicova", "20", "Brno", "60200", "Brno, Veveří", "19057571")),
    "cz-marie": Person(
        country="CZ", given="Marie", family="Nováková", birth_date="1955-03-08",
        birth_place="Ostrava",
        address=Address("Nádražní", "112", "Ostrava", "70200", "Ostrava, Moravská Ostrava",
                        "2956811")),
    # Two more citizens for the register's tests, each a "never seen before" login there.
    "cz-eva": Person(
        country="CZ", given="Eva", family="Svobodová", birth_date="1968-10-28",
        birth_place="Plzeň", email="eva.svobodova@example.cz"),
    "cz-petr": Person(
        country="CZ", given="Petr", family="Procházka", birth_date="2001-01-01",
        birth_place="Olomouc"),
    # Citizens for the potential-client and merge tests (t/integration/test_potential.py).
    "cz-karel": Person(
        country="CZ", given="Karel", family="Veselý", birth_date="1972-08-21",
        birth_place="Liberec", email="karel.vesely@example.cz", phone="+420608555111"),
    "cz-lenka": Person(
        country="CZ", given="Lenka", family="Horáková", birth_date="1986-11-09",
        birth_place="Hradec Králové"),
    "cz-tomas": Person(
        country="CZ", given="Tomáš", family="Kučera", birth_date="1964-04-30",
        birth_place="České Budějovice"),
    # A citizen NIA holds no address for (t/integration/test_attributes.py).
    "cz-radek": Person(
        country="CZ", given="Radek", family="Malý", birth_date="1990-07-04",
        birth_place="Zlín"),
    "de-mueller": Person(country="DE", given="Jürgen", family="Müller", birth_date="1975-11-02"),
    "sk-kovac": Person(country="SK", given="Ľubomír", family="Kováč", birth_date="1988-07-14"),
    # More foreigners for the tests of foreigners' logins, each a first login there.
    "at-huber": Person(country="AT", given="Anna", family="Huber", birth_date="1990-04-12"),
    "pl-nowak": Person(country="PL", given="Łukasz", family="Nowak", birth_date="1985-09-30"),
    "fr-martin": Person(country="FR", given="Élodie", family="Martin", birth_date="1979-12-24"),
    "it-rossi": Person(country="IT", given="Giulia", family="Rossi", birth_date="1995-06-01"),
    "es-garcia": Person(country="ES", given="José", family="García", birth_date="1970-02-14"),
    # A foreigner whose verification nginx completes (t/integration/test_nginx.py).
    "hu-nagy": Person(country="HU", given="Zsófia", family="Nagy", birth_date="1983-03-15"),
    # The first logins of the tests above on the nginx portal (NGINX_FIRST_LOGIN).
    "at-gruber": Person(country="AT", given="Lukas", family="Gruber", birth_date="1987-08-21"),
    "pl-kowalska": Person(country="PL", given="Małgorzata", family="Kowalska",
                          birth_date="1992-01-09"),
    "fr-dubois": Person(country="FR", given="Hélène", family="Dubois", birth_date="1984-05-05"),
    "de-schroeder": Person(country="DE", given="Günter", family="Schröder",
                           birth_date="1969-10-30"),
}

# A foreigner's first login happens once (their pseudonym is then a client), and the portal
# tests log in on httpd and on nginx against one register: on nginx a test whose foreigner
# must be new logs in this one of the same country instead.
NGINX_FIRST_LOGIN = {"at-huber": "at-gruber", "pl-nowak": "pl-kowalska",
                     "fr-martin": "fr-dubois", "de-mueller": "de-schroeder"}


def first_login(key, server):
    """The foreigner KEY, whose login on SERVER ("httpd", "nginx") must be their first."""
    return NGINX_FIRST_LOGIN[key] if server == "nginx" else key


def person_identifier(key, sp_entity_id):
    """The BSI NIA would give this person at this SP: stable per person and SP."""
    person = IDENTITIES[key]
    if person.country == "CZ":
        return "CZ/CZ/" + str(uuid.uuid5(uuid.NAMESPACE_URL, sp_entity_id + "|" + key))
    return f"{person.country}/CZ/" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _current_address(a):
    # NIA sends an XML fragment with an undeclared "eidas:" prefix and CRLF line ends.
    parts = (("LocatorDesignator", a.number), ("Thoroughfare", a.street),
             ("PostName", a.town), ("PostCode", a.post_code), ("CvaddressArea", a.area))
    return _b64("".join(f"<eidas:{tag}>{value}</eidas:{tag}>\r\n" for tag, value in parts))


def _tr_address_id(a):
    return _b64(f"<TRadresaID><adresniMistoKod>{a.ruian_code}</adresniMistoKod>"
                f"<cisloDomovni>{a.number.split('/')[0]}</cisloDomovni></TRadresaID>")


def _age(birth_date, today):
    born = datetime.date.fromisoformat(birth_date)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _czech_attributes(p, today, age_over):
    age = _age(p.birth_date, today)
    values = {
        PLACE_OF_BIRTH: p.birth_place, EMAIL: p.email, PHONE: p.phone,
        ID_TYPE: p.id_type, ID_NUMBER: p.id_number, COUNTRY_OF_BIRTH: "CZ",
        AGE: str(age), IS_AGE_OVER: "true" if age >= age_over else "false",
        BIRTH_NAME: p.family,
    }
    if p.address:
        values[CURRENT_ADDRESS] = _current_address(p.address)
        values[TR_ADDRESS_ID] = _tr_address_id(p.address)
    return values


def _canonical(name):
    return MORIS + name[len(MORIS_ALIAS):] if name.startswith(MORIS_ALIAS) else name


def released_attributes(key, sp_entity_id, requested=None, age_over=18, today=None):
    """[(name, value)] NIA releases: the requested names (all of MINIMAL_SET when the
    request named none) that this person has, in the order requested."""
    p = IDENTITIES[key]
    values = {PERSON_IDENTIFIER: person_identifier(key, sp_entity_id), GIVEN_NAME: p.given,
              FAMILY_NAME: p.family, DATE_OF_BIRTH: p.birth_date}
    if p.country == "CZ":
        values.update(_czech_attributes(p, today or datetime.date.today(), age_over))
    names = requested or MINIMAL_SET
    return [(name, values[_canonical(name)]) for name in names
            if values.get(_canonical(name)) is not None]


# --- the base registers' population, for the translation gateway's /identify -------------

_FAMILY = ("Novák", "Svoboda", "Novotný", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý",
           "Horák", "Němec", "Marek", "Pospíšil", "Pokorný", "Hájek", "Král", "Jelínek")
_GIVEN = ("Jan", "Petr", "Josef", "Pavel", "Martin", "Tomáš", "Jaroslav", "Miroslav",
          "Eva", "Hana", "Anna", "Lenka", "Kateřina", "Lucie", "Věra", "Alena")
_TOWNS = ("Praha", "Brno", "Ostrava", "Plzeň", "Liberec", "Olomouc", "Zlín", "Kladno")


@dataclass(frozen=True)
class Resident:
    """A person the base registers know: `person` is the gateway's person (a BSI or any
    string); identification matches on names and birth date, and on the address when
    the request gives one."""
    person: str
    family: str
    given: str
    birth_date: str
    address: Optional[str] = None


def resident(i):
    """The i-th resident of the deterministic population (i >= 0): every resident has a
    different (family, given, birth date), so each is identified uniquely until someone
    ambiguous is added beside them."""
    born = datetime.date(1930, 1, 1) + datetime.timedelta(days=i // 256)
    family, given = _FAMILY[i % 16], _GIVEN[(i // 16) % 16]
    return Resident(person=f"population person {i}", family=family, given=given,
                    birth_date=born.isoformat(),
                    address=f"{_TOWNS[i % 8]}, Hlavní {i % 997 + 1}")


def population(n):
    """The first N residents."""
    return [resident(i) for i in range(n)]
