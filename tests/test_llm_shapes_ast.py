"""``collect_shapes`` on stdlib ``ast`` trees: retry loops and prompt prefixes, exact lines and fields."""

from __future__ import annotations

import ast
import textwrap

from auditor.llm_shapes import PromptPrefix, RetryLoop, collect_shapes


def shapes(source: str) -> tuple:
    code = textwrap.dedent(source).encode()
    return collect_shapes(ast.parse(code), code, lambda node: node.lineno)


def test_retry_loop_with_sleep_and_bound():
    loops, _ = shapes('''
        import time

        def ask(client, prompt):
            for attempt in range(5):
                try:
                    reply = client.chat.completions.create(
                        model="gpt-4o", messages=[prompt])
                    return reply
                except (openai.RateLimitError, TimeoutError):
                    time.sleep(2 ** attempt)
    ''')
    assert loops == [RetryLoop(line=5, kind="for", bounded=True, sleeps=True, calls=[7],
                               caught=["openai.RateLimitError", "TimeoutError"], broad=False,
                               iter_text="range(5)")]


def test_unbounded_retry_loop_without_sleep():
    loops, _ = shapes('''
        async def ask(client, prompt):
            while True:
                try:
                    async with client.stream(prompt) as stream:
                        return await stream.read()
                except Exception:
                    log("retrying")
    ''')
    assert loops == [RetryLoop(line=3, kind="while", bounded=False, sleeps=False, calls=[5, 6],
                               caught=["Exception"], broad=True, iter_text="True")]


def test_while_true_with_a_one_line_exit_on_failure_is_bounded():
    loops, _ = shapes('''
        def ask(client, prompt, attempts=0):
            while True:
                try:
                    return client.complete(prompt)
                except:
                    attempts += 1
                    if attempts > 3: raise
    ''')
    assert [(loop.line, loop.bounded, loop.broad, loop.caught) for loop in loops] == [(3, True, True, [""])]


def test_handlers_that_reraise_and_loops_that_do_not_leave_are_not_retries():
    loops, _ = shapes('''
        def work(items):
            for item in items:
                try:
                    return handle(item)
                except ValueError:
                    raise
            while pending():
                try:
                    step()
                except OSError:
                    pass
    ''')
    assert loops == []


def test_prompt_with_a_volatile_value_ahead_of_static_text():
    guide = "x" * 50
    _, prompts = shapes(f'''
        from datetime import datetime

        def answer(client, question):
            system = (
                f"Now: {{datetime.now():%Y-%m-%d %H:%M}} for {{question.user_id}}. "
                "{guide}"
            )
            return client.messages.create(system=system, messages=[question])

        def module_level_is_ignored():
            pass

        PROMPT = f"{{datetime.now()}} {guide}"
    ''')
    assert prompts == [PromptPrefix(
        line=6, parts=[["text", 5], ["expr", "datetime.now()", "clock"], ["text", 5],
                       ["name", "question.user_id", ""], ["text", 2 + len(guide)]],
        sink="system", kind="prefix",
        excerpt=f'f"Now: {{datetime.now():%Y-%m-%d %H:%M}} for {{question.user_id}}. " "{guide}"')]


def test_prompt_sinks_from_keywords_dict_keys_role_pairs_and_format():
    _, prompts = shapes('''
        def build(llm, today, uid):
            llm.invoke(prompt=f"{today} guide text")
            send({"content": "{} guide".format(uuid.uuid4())})
            ChatPromptTemplate.from_messages([("system", f"{uid} guide")])
    ''')
    assert sorted((p.line, p.sink, p.parts[0]) for p in prompts) == [
        (3, "prompt=", ["name", "today", "day"]),
        (4, "content", ["text", 0]),
        (5, "system", ["name", "uid", ""]),
    ]
    assert [p.parts for p in prompts if p.line == 4] == [[["text", 0], ["expr", "uuid.uuid4()", "uuid"], ["text", 6]]]


def test_anthropic_block_before_the_cache_control_marker():
    _, prompts = shapes('''
        def answer(client, user):
            blocks = [
                {"type": "text", "text": "You are a helpful assistant."},
                {"type": "text", "text": f"User {user.name}, trace {request_id}"},
                {"type": "text", "text": HANDBOOK, "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": f"{user.question}"},
            ]
            return client.messages.create(system=blocks)
    ''')
    assert prompts == [
        PromptPrefix(line=5, parts=[["text", 5], ["name", "user.name", ""], ["text", 8],
                                    ["name", "request_id", "request id"]],
                     sink="blocks", kind="before-cache-marker",
                     excerpt='f"User {user.name}, trace {request_id}"', group=3),
        PromptPrefix(line=5, parts=[["text", 5], ["name", "user.name", ""], ["text", 8],
                                    ["name", "request_id", "request id"]],
                     sink="text", kind="prefix",
                     excerpt='f"User {user.name}, trace {request_id}"', group=0),
    ]


def test_files_without_prompt_words_collect_no_prompts():
    _, prompts = shapes('''
        def label(row):
            return f"{row.id}: {row.name}"
    ''')
    assert prompts == []
