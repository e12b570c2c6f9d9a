"""The German date/time corpus: what callers say, and what it means, relative to a fixed "today".

One row per phrase: ``category | today | phrase | expected``. ``today`` names an anchor below.
``expected`` is one of:

- ``2026-12-09``                  a day
- ``2026-12-14..2026-12-15``      a range of days
- ``2026-12-09 10:00``            a day and a clock time
- ``10:15``                       a clock time (no day in the phrase)
- ``08:00-12:00``                 a part of the day as a search window (optionally after a day)
- ``? 2026-12-14|2026-12-15``     the phrase allows two days: the agent asks back
- ``07:00|19:00``                 the hour may be morning or evening and the branch is open at both
- ``! date`` / ``! time``         not understood: that part is asked again, never dropped

Clock hours said without a part of the day are resolved against the opening hours of a salon,
09:00-19:00, unless the row starts its expected value with ``@HH-HH`` (other hours) or ``@zu``
(a closed day: the conventional reading).
"""

from __future__ import annotations

import datetime as dt

TODAY = {
    "tue": dt.date(2026, 12, 8),  # a Tuesday
    "sun": dt.date(2026, 11, 15),  # a Sunday
    "sat_dst": dt.date(2026, 3, 28),  # the Saturday before the spring clock change (29 March)
    "dec30": dt.date(2026, 12, 30),  # a Wednesday, the year ends tomorrow
    "dec31": dt.date(2026, 12, 31),  # a Thursday
}

CATEGORIES = {
    "zahlwoerter": "numbers in words up to 59",
    "viertel_halb": "quarter forms (viertel nach/vor, dreiviertel, halb)",
    "tageszeit": "parts of the day, applied to the hour and as ranges",
    "uhr_h": '"Uhr"/"h" forms and digits',
    "ordinalzahlen": "ordinals in words and digits",
    "monate": "months by name and short name",
    "wochentage": "weekdays with and without nächste(n)/kommende(n)/diese(n)",
    "in_n_tagen": "in N Tagen/Wochen, Wochentag in N Wochen, heute/morgen/übermorgen",
    "wochenbereiche": "Anfang/Mitte/Ende (nächster) Woche, Wochenende, ganze Wochen, Anfang/Mitte/Ende eines Monats",
    "numerische_daten": "numeric dates with and without year and final dot",
    "wochentag_mit_datum": "a weekday with a date (checked, asked back when they disagree)",
    "tag_und_zeit": "day plus time in one phrase",
    "mehrdeutig": "business sense: morning or afternoon by the opening hours, else ask back",
    "unverstanden": "not understood: an error for the part, never dropped",
}

CORPUS = """
zahlwoerter | tue | elf Uhr dreißig | 11:30
zahlwoerter | tue | dreizehn Uhr fünfzehn | 13:15
zahlwoerter | tue | zehn Uhr fünfundvierzig | 10:45
zahlwoerter | tue | vierzehn Uhr dreißig | 14:30
zahlwoerter | tue | sechzehn Uhr zwanzig | 16:20
zahlwoerter | tue | neun Uhr fünfzig | 09:50
zahlwoerter | tue | zwölf Uhr | 12:00
zahlwoerter | tue | siebzehn Uhr | 17:00
zahlwoerter | tue | achtzehn Uhr zehn | 18:10
zahlwoerter | tue | fünfzehn Uhr fünfundfünfzig | 15:55
zahlwoerter | tue | zehn Uhr einundzwanzig | 10:21
zahlwoerter | tue | um elf | 11:00
zahlwoerter | tue | um eins | 13:00
zahlwoerter | tue | ein Uhr | 13:00
zahlwoerter | tue | um zwei | 14:00
zahlwoerter | tue | zwei Uhr dreißig | 14:30
zahlwoerter | tue | neunzehn Uhr | 19:00
zahlwoerter | tue | zwanzig nach zehn | 10:20
zahlwoerter | tue | zehn vor drei | 14:50
zahlwoerter | tue | fünf nach halb drei | 14:35
zahlwoerter | tue | fünf vor halb elf | 10:25
zahlwoerter | tue | zwanzig vor zwölf | 11:40
zahlwoerter | tue | um zwo | 14:00
zahlwoerter | tue | dreizehn Uhr dreißig | 13:30
zahlwoerter | tue | neun Uhr zehn | 09:10
zahlwoerter | tue | elf Uhr fünfundvierzig | 11:45
zahlwoerter | tue | zehn Uhr dreizig | 10:30
zahlwoerter | tue | zehn Minuten nach elf | 11:10
viertel_halb | tue | viertel nach zehn | 10:15
viertel_halb | tue | Viertel nach 10 | 10:15
viertel_halb | tue | viertel vor elf | 10:45
viertel_halb | tue | dreiviertel elf | 10:45
viertel_halb | tue | halb elf | 10:30
viertel_halb | tue | halb drei | 14:30
viertel_halb | tue | viertel nach drei | 15:15
viertel_halb | tue | viertel vor vier | 15:45
viertel_halb | tue | dreiviertel zwölf | 11:45
viertel_halb | tue | halb zwölf | 11:30
viertel_halb | tue | halb eins | 12:30
viertel_halb | tue | viertel nach zwölf | 12:15
viertel_halb | tue | viertel vor neun | 08:45
viertel_halb | tue | viertel elf | 10:15
viertel_halb | tue | um halb zehn | 09:30
viertel_halb | tue | viertel nach 2 | 14:15
viertel_halb | tue | halb 4 | 15:30
viertel_halb | tue | dreiviertel 3 | 14:45
viertel_halb | tue | viertel vor 12 | 11:45
viertel_halb | tue | halb sechs | 17:30
viertel_halb | tue | viertel nach fünf | 17:15
viertel_halb | tue | um viertel nach neun | 09:15
viertel_halb | tue | halb zehn Uhr | 09:30
viertel_halb | tue | viertel vor vierzehn | 13:45
viertel_halb | tue | Dreiviertel vier | 15:45
tageszeit | tue | zwei Uhr nachmittags | 14:00
tageszeit | tue | neun Uhr morgens | 09:00
tageszeit | tue | 9 Uhr früh | 09:00
tageszeit | tue | sechs Uhr abends | 18:00
tageszeit | tue | acht Uhr abends | 20:00
tageszeit | tue | zehn Uhr vormittags | 10:00
tageszeit | tue | drei Uhr nachmittags | 15:00
tageszeit | tue | halb drei nachmittags | 14:30
tageszeit | tue | ein Uhr mittags | 13:00
tageszeit | tue | zwölf Uhr mittags | 12:00
tageszeit | tue | elf Uhr nachts | 23:00
tageszeit | tue | zwei Uhr nachts | 02:00
tageszeit | tue | sieben Uhr früh | 07:00
tageszeit | tue | 7 Uhr morgens | 07:00
tageszeit | tue | viertel nach acht morgens | 08:15
tageszeit | tue | 15 Uhr nachmittags | 15:00
tageszeit | tue | halb sieben abends | 18:30
tageszeit | tue | vormittags | 08:00-12:00
tageszeit | tue | nachmittags | 12:00-18:00
tageszeit | tue | abends | 17:00-22:00
tageszeit | tue | mittags | 11:30-14:00
tageszeit | tue | früh | 07:00-10:00
tageszeit | tue | morgens | 07:00-10:00
tageszeit | tue | nach der Arbeit | 17:00-20:00
tageszeit | tue | nach Feierabend | 17:00-20:00
tageszeit | tue | am Vormittag | 08:00-12:00
tageszeit | tue | in der Früh | 07:00-10:00
tageszeit | tue | nächsten Dienstag vormittags | 2026-12-15 08:00-12:00
tageszeit | tue | morgen Nachmittag | 2026-12-09 12:00-18:00
tageszeit | tue | heute Abend | 2026-12-08 17:00-22:00
tageszeit | tue | Freitag nach der Arbeit | 2026-12-11 17:00-20:00
tageszeit | tue | morgen früh | 2026-12-09 07:00-10:00
tageszeit | tue | Donnerstag morgen | 2026-12-10 07:00-10:00
tageszeit | sun | Montag am Nachmittag | 2026-11-16 12:00-18:00
uhr_h | tue | 11h30 | 11:30
uhr_h | tue | 15 h | 15:00
uhr_h | tue | 15h | 15:00
uhr_h | tue | 9h | 09:00
uhr_h | tue | 14 Uhr | 14:00
uhr_h | tue | 14 Uhr 30 | 14:30
uhr_h | tue | 13 Uhr 15 | 13:15
uhr_h | tue | 10:30 | 10:30
uhr_h | tue | 10.30 | 10:30
uhr_h | tue | 10.30 Uhr | 10:30
uhr_h | tue | um 9 Uhr | 09:00
uhr_h | tue | 9:00 Uhr | 09:00
uhr_h | tue | 09:45 | 09:45
uhr_h | tue | 16:00 | 16:00
uhr_h | tue | 16.00 Uhr | 16:00
uhr_h | tue | 14:00:00 | 14:00
uhr_h | tue | um 3 | 15:00
uhr_h | tue | gegen 11 Uhr | 11:00
uhr_h | tue | 17 h 15 | 17:15
uhr_h | tue | 8h45 | 08:45
uhr_h | tue | 12 Uhr | 12:00
uhr_h | tue | 12h | 12:00
uhr_h | tue | um 10. | 10:00
uhr_h | tue | 18:30 Uhr | 18:30
uhr_h | tue | 14.15h | 14:15
ordinalzahlen | tue | am dritten | 2027-01-03
ordinalzahlen | tue | am 3. | 2027-01-03
ordinalzahlen | tue | am fünften Januar | 2027-01-05
ordinalzahlen | tue | am dritten Februar | 2027-02-03
ordinalzahlen | tue | am zehnten | 2026-12-10
ordinalzahlen | tue | der zwölfte | 2026-12-12
ordinalzahlen | tue | am achten | 2026-12-08
ordinalzahlen | tue | am 8. | 2026-12-08
ordinalzahlen | tue | am einunddreißigsten | 2026-12-31
ordinalzahlen | tue | am zwanzigsten Dezember | 2026-12-20
ordinalzahlen | tue | am ersten | 2027-01-01
ordinalzahlen | tue | am siebten Januar | 2027-01-07
ordinalzahlen | tue | den 15. | 2026-12-15
ordinalzahlen | tue | am dreißigsten | 2026-12-30
ordinalzahlen | tue | am 24. | 2026-12-24
ordinalzahlen | tue | am neunzehnten | 2026-12-19
ordinalzahlen | tue | am dritten dritten | 2027-03-03
ordinalzahlen | tue | am zweiten März | 2027-03-02
ordinalzahlen | tue | am sechsten | 2027-01-06
ordinalzahlen | tue | am 1. Februar | 2027-02-01
ordinalzahlen | tue | am zweiundzwanzigsten | 2026-12-22
ordinalzahlen | tue | am dritten nächsten Monats | 2027-01-03
ordinalzahlen | tue | am elften | 2026-12-11
ordinalzahlen | dec31 | am ersten | 2027-01-01
ordinalzahlen | dec30 | am dritten | 2027-01-03
ordinalzahlen | sun | am sechzehnten | 2026-11-16
ordinalzahlen | sat_dst | am neunundzwanzigsten | 2026-03-29
monate | tue | 14. Januar | 2027-01-14
monate | tue | 3. März | 2027-03-03
monate | tue | 3. Mrz | 2027-03-03
monate | tue | 5. Feb. | 2027-02-05
monate | tue | 10. Dez | 2026-12-10
monate | tue | 24. Dezember | 2026-12-24
monate | tue | 1. Jan. 2027 | 2027-01-01
monate | tue | 15. Juni | 2027-06-15
monate | tue | 2. Mai | 2027-05-02
monate | tue | 12. Okt | 2027-10-12
monate | tue | 30. Nov. | 2027-11-30
monate | tue | 28. Dezember | 2026-12-28
monate | tue | 7. Dezember | 2027-12-07
monate | tue | 8. Dezember | 2026-12-08
monate | tue | 1. April | 2027-04-01
monate | tue | 20. Juli | 2027-07-20
monate | tue | 3. Aug | 2027-08-03
monate | tue | 18. Sept. | 2027-09-18
monate | tue | 6. September 2027 | 2027-09-06
monate | tue | am 4. Jänner | 2027-01-04
monate | tue | 29. Februar | 2028-02-29
monate | tue | 14. Oktober 2027 | 2027-10-14
monate | tue | 3 März | 2027-03-03
monate | tue | am fünfzehnten Mai | 2027-05-15
monate | tue | 1. Januar 2026 | 2026-01-01
monate | dec31 | 2. Januar | 2027-01-02
monate | dec30 | 30. Dezember | 2026-12-30
wochentage | tue | Montag | 2026-12-14
wochentage | tue | Dienstag | 2026-12-15
wochentage | tue | Mittwoch | 2026-12-09
wochentage | tue | Donnerstag | 2026-12-10
wochentage | tue | Freitag | 2026-12-11
wochentage | tue | Samstag | 2026-12-12
wochentage | tue | Sonnabend | 2026-12-12
wochentage | tue | am Freitag | 2026-12-11
wochentage | tue | nächsten Freitag | 2026-12-11
wochentage | tue | kommenden Montag | 2026-12-14
wochentage | tue | diesen Donnerstag | 2026-12-10
wochentage | tue | nächste Woche Mittwoch | 2026-12-16
wochentage | tue | Mittwoch nächste Woche | 2026-12-16
wochentage | tue | Freitag in der nächsten Woche | 2026-12-18
wochentage | tue | Montag übernächste Woche | 2026-12-21
wochentage | tue | Mo | 2026-12-14
wochentage | tue | Dienstag diese Woche | 2026-12-08
wochentage | sun | Montag | 2026-11-16
wochentage | sun | nächsten Montag | 2026-11-16
wochentage | sun | Samstag | 2026-11-21
wochentage | sun | Sonntag | 2026-11-22
wochentage | sun | diesen Samstag | 2026-11-21
wochentage | sun | nächste Woche Dienstag | 2026-11-17
wochentage | dec31 | Montag | 2027-01-04
wochentage | dec31 | Freitag | 2027-01-01
wochentage | dec31 | kommenden Dienstag | 2027-01-05
wochentage | sat_dst | Sonntag | 2026-03-29
wochentage | sat_dst | Montag | 2026-03-30
in_n_tagen | tue | in 3 Tagen | 2026-12-11
in_n_tagen | tue | in drei Tagen | 2026-12-11
in_n_tagen | tue | in einer Woche | 2026-12-15
in_n_tagen | tue | in zwei Wochen | 2026-12-22
in_n_tagen | tue | in 14 Tagen | 2026-12-22
in_n_tagen | tue | in einem Tag | 2026-12-09
in_n_tagen | tue | in zehn Tagen | 2026-12-18
in_n_tagen | tue | in 2 Wochen | 2026-12-22
in_n_tagen | tue | in drei Wochen | 2026-12-29
in_n_tagen | tue | in vier Wochen | 2027-01-05
in_n_tagen | tue | Dienstag in einer Woche | 2026-12-15
in_n_tagen | tue | Montag in zwei Wochen | 2026-12-28
in_n_tagen | tue | Freitag in einer Woche | 2026-12-18
in_n_tagen | tue | Mittwoch in einer Woche | 2026-12-16
in_n_tagen | tue | in einer Woche am Donnerstag | 2026-12-17
in_n_tagen | tue | in zwei Wochen am Dienstag | 2026-12-22
in_n_tagen | tue | Montag in drei Wochen | 2027-01-04
in_n_tagen | tue | heute in einer Woche | 2026-12-15
in_n_tagen | tue | morgen in einer Woche | 2026-12-16
in_n_tagen | tue | morgen in zwei Wochen | 2026-12-23
in_n_tagen | tue | heute | 2026-12-08
in_n_tagen | tue | morgen | 2026-12-09
in_n_tagen | tue | übermorgen | 2026-12-10
in_n_tagen | dec30 | in 3 Tagen | 2027-01-02
in_n_tagen | dec30 | in einer Woche | 2027-01-06
in_n_tagen | dec30 | Montag in einer Woche | 2027-01-11
in_n_tagen | dec31 | in zwei Tagen | 2027-01-02
in_n_tagen | dec31 | übermorgen | 2027-01-02
in_n_tagen | sat_dst | in 1 Tag | 2026-03-29
in_n_tagen | sat_dst | in einer Woche | 2026-04-04
in_n_tagen | sun | Montag in einer Woche | 2026-11-23
wochenbereiche | tue | Anfang nächster Woche | 2026-12-14..2026-12-15
wochenbereiche | tue | Mitte nächster Woche | 2026-12-15..2026-12-17
wochenbereiche | tue | Ende nächster Woche | 2026-12-17..2026-12-19
wochenbereiche | tue | Anfang der nächsten Woche | 2026-12-14..2026-12-15
wochenbereiche | tue | Ende der Woche | 2026-12-10..2026-12-12
wochenbereiche | tue | Mitte der Woche | 2026-12-08..2026-12-10
wochenbereiche | tue | Ende dieser Woche | 2026-12-10..2026-12-12
wochenbereiche | tue | Anfang der Woche | 2026-12-08
wochenbereiche | tue | am Wochenende | 2026-12-12..2026-12-13
wochenbereiche | tue | Wochenende | 2026-12-12..2026-12-13
wochenbereiche | tue | nächstes Wochenende | 2026-12-12..2026-12-13
wochenbereiche | tue | dieses Wochenende | 2026-12-12..2026-12-13
wochenbereiche | tue | übernächstes Wochenende | 2026-12-19..2026-12-20
wochenbereiche | tue | nächste Woche | 2026-12-14..2026-12-20
wochenbereiche | tue | diese Woche | 2026-12-08..2026-12-13
wochenbereiche | tue | übernächste Woche | 2026-12-21..2026-12-27
wochenbereiche | tue | kommende Woche | 2026-12-14..2026-12-20
wochenbereiche | tue | in der nächsten Woche | 2026-12-14..2026-12-20
wochenbereiche | tue | Mitte nächster Woche nachmittags | 2026-12-15..2026-12-17 12:00-18:00
wochenbereiche | sun | am Wochenende | 2026-11-21..2026-11-22
wochenbereiche | sun | Ende der Woche | 2026-11-19..2026-11-21
wochenbereiche | sun | Anfang nächster Woche | 2026-11-16..2026-11-17
wochenbereiche | sun | nächste Woche | 2026-11-16..2026-11-22
wochenbereiche | sun | Anfang der Woche | 2026-11-16..2026-11-17
wochenbereiche | sat_dst | am Wochenende | 2026-03-28..2026-03-29
wochenbereiche | sat_dst | nächstes Wochenende | 2026-04-04..2026-04-05
wochenbereiche | sat_dst | Ende der Woche | 2026-03-28
wochenbereiche | dec30 | Anfang nächster Woche | 2027-01-04..2027-01-05
wochenbereiche | dec30 | am Wochenende | 2027-01-02..2027-01-03
wochenbereiche | dec30 | nächste Woche | 2027-01-04..2027-01-10
wochenbereiche | tue | Anfang Januar | 2027-01-01..2027-01-10
wochenbereiche | tue | Mitte Januar | 2027-01-11..2027-01-20
wochenbereiche | tue | Ende Februar | 2027-02-21..2027-02-28
wochenbereiche | tue | Ende des Monats | 2026-12-21..2026-12-31
wochenbereiche | tue | Anfang nächsten Monats | 2027-01-01..2027-01-10
wochenbereiche | tue | Mitte Dezember | 2026-12-11..2026-12-20
wochenbereiche | dec30 | Anfang Dezember | 2027-12-01..2027-12-10
numerische_daten | tue | 28.12. | 2026-12-28
numerische_daten | tue | 28.12 | 2026-12-28
numerische_daten | tue | 28.12.2026 | 2026-12-28
numerische_daten | tue | 28.12.26 | 2026-12-28
numerische_daten | tue | 15.03.27 | 2027-03-15
numerische_daten | tue | 15.03. | 2027-03-15
numerische_daten | tue | 15.3. | 2027-03-15
numerische_daten | tue | 15.3 | 2027-03-15
numerische_daten | tue | 1.1. | 2027-01-01
numerische_daten | tue | 01.01.2027 | 2027-01-01
numerische_daten | tue | 2027-03-15 | 2027-03-15
numerische_daten | tue | 2026-12-24 | 2026-12-24
numerische_daten | tue | 24.12 | 2026-12-24
numerische_daten | tue | 7.12. | 2027-12-07
numerische_daten | tue | 8.12. | 2026-12-08
numerische_daten | tue | am 31.12. | 2026-12-31
numerische_daten | tue | den 10.1. | 2027-01-10
numerische_daten | tue | 15/03/2027 | 2027-03-15
numerische_daten | tue | 3. 1. | 2027-01-03
numerische_daten | tue | 29.02.2028 | 2028-02-29
numerische_daten | tue | 11.12 | 2026-12-11
numerische_daten | dec31 | 2.1. | 2027-01-02
numerische_daten | dec31 | 31.12 | 2026-12-31
numerische_daten | dec30 | 30.12. | 2026-12-30
numerische_daten | dec30 | 29.12. | 2027-12-29
numerische_daten | sat_dst | 29.03. | 2026-03-29
wochentag_mit_datum | tue | am Montag, 15.03. | 2027-03-15
wochentag_mit_datum | tue | Montag, 14.12. | 2026-12-14
wochentag_mit_datum | tue | Dienstag, 15.12. | 2026-12-15
wochentag_mit_datum | tue | Freitag, den 18. Dezember | 2026-12-18
wochentag_mit_datum | tue | Montag, 15.12. | ? 2026-12-14|2026-12-15
wochentag_mit_datum | tue | Samstag, 28.12. | ? 2026-12-26|2026-12-28
wochentag_mit_datum | tue | Sonntag, den 3. Januar | 2027-01-03
wochentag_mit_datum | tue | Freitag, 1. Januar | 2027-01-01
wochentag_mit_datum | tue | Mittwoch 16.12. | 2026-12-16
wochentag_mit_datum | tue | Donnerstag, 17.12.2026 | 2026-12-17
wochentag_mit_datum | tue | am Donnerstag, den 24.12. | 2026-12-24
wochentag_mit_datum | tue | Mittwoch, 24.12. | ? 2026-12-23|2026-12-24
wochentag_mit_datum | tue | Montag, 4.1. | 2027-01-04
wochentag_mit_datum | tue | Dienstag, 5.1.27 | 2027-01-05
wochentag_mit_datum | tue | Freitag, 15.03. | ? 2027-03-12|2027-03-15
wochentag_mit_datum | tue | morgen, Mittwoch | 2026-12-09
wochentag_mit_datum | tue | morgen Donnerstag | ? 2026-12-09|2026-12-10
wochentag_mit_datum | tue | heute, Dienstag | 2026-12-08
wochentag_mit_datum | tue | Montag, der 14. Dezember | 2026-12-14
wochentag_mit_datum | tue | Mo, 14.12. | 2026-12-14
wochentag_mit_datum | tue | Di 15.12. | 2026-12-15
wochentag_mit_datum | tue | Sa. 12.12. | 2026-12-12
wochentag_mit_datum | tue | Mittwoch, den 9. | 2026-12-09
wochentag_mit_datum | tue | Freitag, der 11. | 2026-12-11
wochentag_mit_datum | tue | Donnerstag, 15.03. | ? 2027-03-15|2027-03-18
wochentag_mit_datum | dec31 | Samstag, 2.1. | 2027-01-02
tag_und_zeit | tue | morgen um 10 Uhr | 2026-12-09 10:00
tag_und_zeit | tue | Dienstag um 14 Uhr | 2026-12-15 14:00
tag_und_zeit | tue | am 28.12. um 11 Uhr | 2026-12-28 11:00
tag_und_zeit | tue | in drei Tagen um viertel nach zehn | 2026-12-11 10:15
tag_und_zeit | tue | 28. Dezember 16:00 | 2026-12-28 16:00
tag_und_zeit | tue | übermorgen um 15 Uhr | 2026-12-10 15:00
tag_und_zeit | tue | morgen 10:30 | 2026-12-09 10:30
tag_und_zeit | tue | heute um halb drei | 2026-12-08 14:30
tag_und_zeit | tue | Freitag 9 Uhr | 2026-12-11 09:00
tag_und_zeit | tue | nächsten Montag um elf | 2026-12-14 11:00
tag_und_zeit | tue | am fünften Januar um 14:30 | 2027-01-05 14:30
tag_und_zeit | tue | morgen früh um neun | 2026-12-09 09:00
tag_und_zeit | tue | Donnerstag nachmittag um drei | 2026-12-10 15:00
tag_und_zeit | tue | 15.12. 9:30 | 2026-12-15 09:30
tag_und_zeit | tue | 15.12.2026 14 Uhr | 2026-12-15 14:00
tag_und_zeit | tue | am 15.12. um 10.30 Uhr | 2026-12-15 10:30
tag_und_zeit | tue | 2026-12-15T10:00:00+01:00 | 2026-12-15 10:00
tag_und_zeit | tue | morgen gegen 11 | 2026-12-09 11:00
tag_und_zeit | tue | Mittwoch, 16.12. um 17 Uhr | 2026-12-16 17:00
tag_und_zeit | tue | in einer Woche um 16 Uhr | 2026-12-15 16:00
tag_und_zeit | tue | Dienstag in einer Woche um 9 | 2026-12-15 09:00
tag_und_zeit | tue | morgen 15 h | 2026-12-09 15:00
tag_und_zeit | tue | morgen 10 | 2026-12-09 10:00
tag_und_zeit | tue | Samstag um zwölf | 2026-12-12 12:00
tag_und_zeit | tue | am dritten Januar um halb elf | 2027-01-03 10:30
tag_und_zeit | tue | 28. Dezember 16 Uhr | 2026-12-28 16:00
tag_und_zeit | tue | 28.12. 16:00 | 2026-12-28 16:00
tag_und_zeit | tue | nächsten Dienstag vormittags um 10 | 2026-12-15 10:00
tag_und_zeit | dec31 | morgen um 10 Uhr | 2027-01-01 10:00
tag_und_zeit | sat_dst | morgen um 10 Uhr | 2026-03-29 10:00
tag_und_zeit | sat_dst | morgen um halb drei | 2026-03-29 14:30
tag_und_zeit | dec30 | übermorgen um 9 | 2027-01-01 09:00
tag_und_zeit | sun | heute Nachmittag um 4 | 2026-11-15 16:00
mehrdeutig | tue | um drei | 15:00
mehrdeutig | tue | halb drei | 14:30
mehrdeutig | tue | um acht | 08:00
mehrdeutig | tue | um acht | @08-20 08:00
mehrdeutig | tue | um sieben | @07-21 07:00|19:00
mehrdeutig | tue | halb acht | @07-21 07:30|19:30
mehrdeutig | tue | um neun | @09-22 09:00|21:00
mehrdeutig | tue | um sechs | 18:00
mehrdeutig | tue | um sechs | @06-14 06:00
mehrdeutig | tue | um zehn | 10:00
mehrdeutig | tue | um 4 | 16:00
mehrdeutig | tue | um eins | 13:00
mehrdeutig | tue | um elf | @10-24 11:00|23:00
mehrdeutig | tue | viertel nach sieben | @07-21 07:15|19:15
mehrdeutig | tue | um drei | @zu 15:00
mehrdeutig | tue | um neun | @zu 09:00
mehrdeutig | tue | halb acht | 19:30
mehrdeutig | tue | um sieben abends | @07-21 19:00
mehrdeutig | tue | um sieben morgens | @07-21 07:00
mehrdeutig | tue | 19 Uhr | @07-21 19:00
mehrdeutig | tue | 07:00 | @07-21 07:00
mehrdeutig | tue | 7:00 | @07-21 07:00|19:00
mehrdeutig | tue | morgen um drei | 2026-12-09 15:00
mehrdeutig | tue | um 12 | 12:00
mehrdeutig | tue | halb eins | @00-24 00:30|12:30
unverstanden | tue | irgendwann | ! date
unverstanden | tue | morgen um viertel | ! time
unverstanden | tue | morgen um zehn nach | ! time
unverstanden | tue | am 28.12. um elfuhr | ! time
unverstanden | tue | 25 Uhr | ! time
unverstanden | tue | 14:75 | ! time
unverstanden | tue | morgen um 25 Uhr | ! time
unverstanden | tue | 31.02. | ! date
unverstanden | tue | 31. April | ! date
unverstanden | tue | Dienstag oder Mittwoch | ! date
unverstanden | tue | nächsten Monat | ! date
unverstanden | tue | im Januar | ! date
unverstanden | tue | Montag diese Woche | ! date
unverstanden | tue | heute oder morgen | ! date
unverstanden | tue | morgen um halb | ! time
unverstanden | tue | in ein paar Tagen | ! date
unverstanden | tue | blabla | ! date
unverstanden | tue | Dienstag 14 Uhr 15 Uhr | ! time
unverstanden | tue | halb | ! time
unverstanden | tue | um 10 Uhr vormittags oder nachmittags | ! time
unverstanden | tue | Montag Dienstag | ! date
unverstanden | tue | morgen übermorgen | ! date
unverstanden | tue | 15 Uhr morgens | ! time
unverstanden | tue | am 32. | ! date
unverstanden | tue | um 10:61 | ! time
unverstanden | tue | in Tagen | ! date
unverstanden | tue | Ende letzter Woche | ! date
unverstanden | tue | 28. Dezember um sechzehn Uhr siebzig | ! time
"""


def rows() -> list[tuple[str, str, str, str]]:
    parsed = []
    for line in CORPUS.strip().splitlines():
        category, today, phrase, expected = (part.strip() for part in line.split(" | "))
        parsed.append((category, today, phrase, expected))
    return parsed
