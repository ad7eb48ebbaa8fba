"""The demo chat's local responder (no external model) and the logging of its answers as interactions.

Answers come from a small built-in knowledge base matched by word overlap, plus exact arithmetic; the match
quality becomes the confidence, so the demo shows confident, hesitant and clueless answers side by side.
"""

from __future__ import annotations

import ast
import operator
import re
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from feedback.errors import Conflict, NotFound
from feedback.models import Interaction, Project
from feedback.schemas.interaction import InteractionCreate, Message
from feedback.services import projects
from feedback.services.interactions import record_interactions

MODEL = "demo-responder"
MODEL_VERSION = "1"
DEMO_SLUG = "demo"

KNOWLEDGE: tuple[tuple[str, str], ...] = (
    ("what is feedback loop service", "feedback-loop collects end-user feedback on LLM answers, routes the "
     "doubtful ones to human annotators and exports the results as training and evaluation data."),
    ("how do i give feedback thumbs vote", "Press the thumb under an answer. Press it again to take the vote "
     "back, or press the other thumb to change it; 'Add details' lets you pick reasons and write a comment."),
    ("what is active learning uncertainty sampling", "Active learning picks the examples a model is least "
     "sure about for humans to label first, so each label teaches the model as much as possible."),
    ("what is label studio annotation", "Label Studio is an open-source annotation tool; feedback-loop sends "
     "it review tasks and reads the annotations back."),
    ("what is the capital of france paris", "The capital of France is Paris."),
    ("how many days in a leap year", "A leap year has 366 days."),
    ("what is python programming language", "Python is a general-purpose programming language known for "
     "readable syntax and a large standard library."),
    ("why is the sky blue rayleigh scattering", "Sunlight scatters off air molecules, and shorter (blue) "
     "wavelengths scatter much more than red ones: Rayleigh scattering."),
    ("what is an llm large language model", "A large language model predicts text one token at a time; it "
     "is trained on huge text corpora and then tuned to follow instructions."),
    ("is my data private offline", "This demo runs entirely on this server: no external model is called and "
     "your messages are stored only in the demo project."),
)
STOPWORDS = frozenset({"a", "an", "the", "is", "are", "of", "in", "on", "to", "do", "i", "my", "me", "you",
                       "what", "how", "why", "which", "who", "can", "does", "it"})
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.USub: operator.neg, ast.UAdd: operator.pos}
_MATH = re.compile(r"^[\d\s+\-*/().]+$")


@dataclass(frozen=True)
class Reply:
    """One answer of the responder with its confidence in 0..1 and how long it took."""

    text: str
    confidence: float
    latency_ms: float


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS}


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left), _arith(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.operand))
    raise ValueError("not arithmetic")


def _calculate(question: str) -> str | None:
    expression = question.strip().rstrip("=?").replace("what is", "").strip()
    if not expression or not _MATH.match(expression) or len(expression) > 100:
        return None
    try:
        value = _arith(ast.parse(expression, mode="eval").body)
    except (ValueError, SyntaxError, ZeroDivisionError, RecursionError):
        return None
    return f"{expression} = {value:g}"


def answer(question: str) -> Reply:
    """Answer `question` from the knowledge base (or arithmetic); confidence is the match quality."""
    started = time.perf_counter()
    calculated = _calculate(question.lower())
    if calculated is not None:
        text, confidence = calculated, 0.97
    else:
        asked = _words(question)
        best, score = None, 0.0
        for topic, reply in KNOWLEDGE:
            words = _words(topic)
            overlap = len(asked & words) / len(asked | words) if asked else 0.0
            if overlap > score:
                best, score = reply, overlap
        if best is not None and score >= 0.5:
            text, confidence = best, round(0.7 + 0.29 * min(1.0, score), 2)
        elif best is not None and score >= 0.15:
            text, confidence = f"I am not sure, but this may help: {best}", round(0.3 + score, 2)
        else:
            text, confidence = ("I don't know that one. Try asking about feedback-loop, active learning, "
                                "Label Studio or some arithmetic like 12 * (3 + 4)."), 0.05
    return Reply(text, confidence, round((time.perf_counter() - started) * 1000, 3))


def demo_project(session: Session) -> Project:
    """The project the demo logs into, created with the default taxonomy on first use; caller commits."""
    try:
        return projects.get_project_by_slug(session, DEMO_SLUG)
    except NotFound:
        pass
    try:
        project, _admin = projects.create_project(session, DEMO_SLUG, "Demo chat")
    except Conflict:  # created concurrently by another request
        return projects.get_project_by_slug(session, DEMO_SLUG)
    return project


def log_reply(session: Session, project_id: int, question: str, reply: Reply, conversation_id: str | None,
              end_user_id: str | None) -> Interaction:
    """Record the question and the reply as an interaction (interactions service); caller commits."""
    item = InteractionCreate(
        conversation_id=conversation_id, messages=[Message(role="user", content=question)],
        response=reply.text, model=MODEL, model_version=MODEL_VERSION, confidence=reply.confidence,
        latency_ms=reply.latency_ms, metadata={"source": "demo"}, end_user_id=end_user_id,
    )
    return record_interactions(session, project_id, [item])[0].interaction
