"""Matrix contents: the reactions a review request offers are the command table's."""

from __future__ import annotations

from adapters.matrix.formatting import DECISION_REACTIONS, contents, emoji_key
from bot.i18n import Rendered
from conversations.commands import COMMANDS, parse_command


def test_each_decision_reaction_sends_its_commands_word():
    offered = {name: spec.reaction for name, spec in COMMANDS.items() if spec.reaction}
    assert set(offered) == {"approve", "reservations", "request_changes", "reject"}
    for name, reaction in offered.items():
        command = parse_command(f"{DECISION_REACTIONS[emoji_key(reaction)]} 4")
        assert command is not None and (command.name, command.id_argument) == (name, 4)


def test_a_review_request_shows_its_reactions_with_the_buttons_labels():
    actions = [{"name": n, "label": f"Label {n}", "command": f"{COMMANDS[n].word('fr')} 4"}
               for n in ("approve", "reservations", "request_changes", "reject")]
    (content,) = contents(Rendered(to="matrix:@nr:x", kind="review_request", assessment=4, body="Demande",
                                   actions=actions))
    assert "(✅ Label approve · ⚠️ Label reservations · 📝 Label request_changes · ❌ Label reject)" in content["body"]


def test_the_compass_image_says_its_statuses_in_its_body():
    from adapters.matrix.adapter import image_content
    from bot.compass import demo_picture, draw

    picture = demo_picture()
    content = image_content("boussole-12.png", draw(picture), picture.alt)
    assert content["msgtype"] == "m.image" and content["filename"] == "boussole-12.png"
    assert content["body"] == picture.alt and "Critère 6, Transparence et redevabilité : bloquant." in content["body"]
    assert content["info"]["mimetype"] == "image/png" and content["info"]["w"] == 1000
    assert image_content("x.png", draw(picture), None)["body"] == "x.png"
