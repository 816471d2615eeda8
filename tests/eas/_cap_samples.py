"""CAP documents for the tests: a CAP-CP alert (English and French infos, SAME
and CAP-CP codes, polygon, circle, audio resource) built from parts so each
test can change one thing."""

from __future__ import annotations

import base64

NS = "urn:oasis:names:tc:emergency:cap:1.2"
AUDIO = base64.b64encode(b"RIFF----WAVEfmt fake audio").decode()


def info(
    *,
    language: str = "en-CA",
    event: str = "tornado",
    same: str | None = "TOR",
    capcp: str | None = "tornado",
    urgency: str = "Immediate",
    severity: str = "Extreme",
    certainty: str = "Observed",
    expires: str = "2026-03-01T14:05:00-05:00",
    headline: str = "Tornado warning",
    geocodes: tuple[tuple[str, str], ...] = (
        ("SAME", "048453"),
        ("profile:CAP-CP:Location:0.3", "3520005"),
    ),
    area_extra: str = "",
    extra: str = "",
) -> str:
    codes = ""
    if same:
        codes += f"<eventCode><valueName>SAME</valueName><value>{same}</value></eventCode>"
    if capcp:
        codes += (
            "<eventCode><valueName>profile:CAP-CP:Event:0.4</valueName>"
            f"<value>{capcp}</value></eventCode>"
        )
    geo = "".join(
        f"<geocode><valueName>{n}</valueName><value>{v}</value></geocode>" for n, v in geocodes
    )
    return f"""<info>
    <language>{language}</language>
    <category>Met</category>
    <event>{event}</event>
    <responseType>Shelter</responseType>
    <urgency>{urgency}</urgency>
    <severity>{severity}</severity>
    <certainty>{certainty}</certainty>
    {codes}
    <effective>2026-03-01T13:05:00-05:00</effective>
    <expires>{expires}</expires>
    <senderName>Environment Canada</senderName>
    <headline>{headline}</headline>
    <description>A tornado was seen near the town.</description>
    <instruction>Take cover now</instruction>
    <parameter><valueName>layer:SOREM:1.0:Broadcast_Immediately</valueName><value>Yes</value></parameter>
    {extra}
    <resource>
      <resourceDesc>audio</resourceDesc>
      <mimeType>audio/x-ipaws-audio-wav</mimeType>
      <size>26</size>
      <derefUri>{AUDIO}</derefUri>
    </resource>
    <area>
      <areaDesc>Toronto</areaDesc>
      <polygon>43.6,-79.5 43.8,-79.5 43.8,-79.2 43.6,-79.2 43.6,-79.5</polygon>
      <circle>43.7,-79.4 5.0</circle>
      {geo}
      {area_extra}
    </area>
  </info>"""


def alert(
    *,
    identifier: str = "urn:oid:2.49.0.1.124.1.2026",
    sender: str = "cap-pac@canada.ca",
    sent: str = "2026-03-01T13:05:00-05:00",
    status: str = "Actual",
    msg_type: str = "Alert",
    scope: str = "Public",
    references: str | None = None,
    infos: tuple[str, ...] | None = None,
    head: str = "",
    extra: str = "",
    namespace: str = NS,
) -> bytes:
    refs = f"<references>{references}</references>" if references else ""
    body = "".join(
        infos
        if infos is not None
        else (info(), info(language="fr-CA", headline="Alerte de tornade"))
    )
    return f"""{head}<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{namespace}">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>{sent}</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>{scope}</scope>
  {refs}
  {extra}
  {body}
</alert>""".lstrip().encode()
