"""What every subcommand needs: settings, a migrated database, a runtime, a one-line failure."""
from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings, SettingsError, load_settings, require_service_secret
from storage.db import has_schema, is_current, make_engine, transaction


class CommandError(Exception):
    """Ends the command with this one line on stderr and exit status 1."""


def org_named(session, name: str):
    """The organisation called `name`, or the command ends saying there is none."""
    from storage.orgs import find_org

    org = find_org(session, name)
    if org is None:
        raise CommandError(f"没有名为“{name}”的党组织")
    return org


def today(rt: Runtime) -> date:
    """Today where the branches are (ZHIBU_TZ), by the runtime's clock."""
    return rt.services.clock().astimezone(rt.settings.tz).date()


def settings() -> Settings:
    try:
        s = load_settings()
    except SettingsError as err:
        raise CommandError(f"配置错误：{err}") from None
    logging.getLogger().setLevel(s.log_level)  # ZHIBU_LOG_LEVEL
    return s


def service_settings() -> Settings:
    """settings() for a process that hands members signed links (serve, scheduler, dingtalk-stream): a secret key
    that is unset, short or published ends it here. `say`, `chat` and the other commands run without one."""
    s = settings()
    try:
        require_service_secret(s)
    except SettingsError as err:
        raise CommandError(f"配置错误：{err}") from None
    return s


def require_schema(s: Settings) -> None:
    engine = make_engine(s.database_url)
    try:
        if not has_schema(engine) or not is_current(engine):
            raise CommandError("数据库还没有初始化或不是最新：请先运行 zhibu db upgrade（或 zhibu demo）")
    except CommandError:
        raise
    except Exception as err:
        raise CommandError(f"无法连接数据库（{type(err).__name__}）：请检查 ZHIBU_DATABASE_URL") from None
    finally:
        engine.dispose()


def fixed_clock(text: str, s: Settings):
    """A clock stopped at `text`, a local time in ZHIBU_TIMEZONE (2027-01-04 09:00): to try the bot on another day."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"时间“{text}”无效，请写成 2027-01-04 09:00") from None
    at = (at if at.tzinfo else at.replace(tzinfo=s.tz)).astimezone(UTC)
    return lambda: at


@contextmanager
def runtime(migrated: bool = True, service: bool = False, now: str | None = None) -> Iterator[Runtime]:
    """The runtime for one command; `now` (a local time) stops its clock there instead of reading the real one."""
    s = service_settings() if service else settings()
    if migrated:
        require_schema(s)
    rt = build_runtime(s, clock=fixed_clock(now, s)) if now else build_runtime(s)
    try:
        yield rt
    finally:
        rt.close()


def import_all_or_nothing(path, do_import) -> int:
    """Run one file import in one transaction and print the outcome: every error (nothing imported) or the summary
    and its warnings. `do_import(session, runtime)` returns a result with summary() and warnings."""
    from storage.sheets import SheetError

    if not path.is_file():
        raise CommandError(f"找不到文件：{path}")
    with runtime() as rt:
        try:
            with transaction(rt.sessions) as session:
                result = do_import(session, rt)
        except SheetError as err:
            print(f"未导入任何数据，共 {len(err.errors)} 处需要修改：")
            for e in err.errors:
                print(f"  {e}")
            return 1
    print(result.summary())
    for w in result.warnings:
        print(f"提醒：{w}")
    return 0


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1
