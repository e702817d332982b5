"""Chat sessions and their message trees in SQLite (WAL, numbered migrations), sync and async.

The file is data_dir()/gptbench.db. An unreadable file, another program's database or one written by a newer
gptbench raises StoreError naming the file, and is never modified. API keys are never stored.

Usage from the app (every AsyncStore method is the Store method of the same name, awaitable):

    store = await AsyncStore.open()                       # or AsyncStore.open(path); StoreError if unusable
    session = await store.create_session("Ideas", system_prompt="Be brief.", backend="local",
                                         model="smollm2", params=PRESETS["balanced"])
    await store.list_sessions()                           # most recent first
    await store.search_sessions("paris")                  # title, system prompt or any message, any case
    await store.update_session(session.id, title="Paris", params=new_params)

    user = await store.add_user_message(session.id, "Capital of France?")   # saved as sent, now the leaf
    replies = await store.begin_replies(session.id, user.id, n=params.n)    # rows with status "streaming"
    recorder = ReplyRecorder(store, replies)
    messages = conversation(session, await store.path(session.id))          # what to send the model
    try:
        async for event in backend.stream_chat(messages, params):
            if isinstance(event, Delta):
                await recorder.add(event.text, event.index, event.logprobs) # text saved at most once a second
            else:
                await recorder.finish(event)                                # complete, usage, timings
    except asyncio.CancelledError:
        await recorder.stop()                                               # Esc: partial text, "stopped"
        raise
    except GptbenchError as err:
        await recorder.stop(error=str(err))                                 # status "error", one line

    await store.path(session.id)                          # active branch, first message to leaf
    reply.logprobs                                        # its TokenLogprobs as streamed (() if none asked)
    new_user = await store.edit_and_branch(user.id, "Capital of Italy?")    # old branch kept; then begin_replies
    again = await store.regenerate(replies[0].id)         # sibling reply, now active; wrap in a ReplyRecorder
    await store.siblings(replies[0].id)                   # alternatives of one turn (edits, regenerations, n>1)
    await store.select(replies[0].id)                     # switch back to it; returns the new active path
    await store.branch(user.id)                           # preview a branch without switching
    await store.close()

Compare mode: `begin_replies(session.id, user.id, model="other", select=False)` adds a second answer to the same
prompt without changing the active branch.
"""

from .aio import AsyncStore, ReplyRecorder, Store
from .db import MIGRATIONS, StoreError, default_path
from .models import Session, StoredMessage, conversation
from .sessions import KEEP

__all__ = [
    "KEEP",
    "MIGRATIONS",
    "AsyncStore",
    "ReplyRecorder",
    "Session",
    "Store",
    "StoreError",
    "StoredMessage",
    "conversation",
    "default_path",
]
