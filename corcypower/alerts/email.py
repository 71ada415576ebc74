"""E-mail notifications over SMTP (smtplib): STARTTLS, TLS from the start, or a plain relay.

The password follows the same rules as the MySQL one (settings/passwords.py): the variable
$CORCYPOWER_SMTP_PASSWORD, else password_file, else password.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from corcypower.alerts.notifiers import Message
from corcypower.errors import DeliveryError
from corcypower.settings import Config, passwords

log = logging.getLogger(__name__)

PASSWORD_ENV = "CORCYPOWER_SMTP_PASSWORD"


class EmailNotifier:
    """Sends each message as a plain-text e-mail from [notify.email] from to its `to` list."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        security: str,
        sender: str,
        to: list[str],
        user: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ):
        self.host, self.port, self.security = host, port, security
        self.sender, self.to = sender, to
        self.user, self.password = user, password
        self.ca_file, self.timeout = ca_file, timeout

    @classmethod
    def from_config(cls, config: Config) -> EmailNotifier:
        password, warnings = passwords.password(
            config, "notify.email", PASSWORD_ENV, "the SMTP password"
        )
        for warning in warnings:
            log.warning(warning)
        return cls(
            config["notify.email.host"],
            config["notify.email.port"],
            config["notify.email.security"],
            config["notify.email.from"],
            config["notify.email.to"],
            config["notify.email.user"],
            password,
            config["notify.email.ca_file"],
            config["notify.timeout_seconds"],
        )

    def __repr__(self) -> str:  # never print the password
        return f"EmailNotifier({self.user}@{self.host}:{self.port}, {self.security})"

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2])
        mail.set_content(message.body)
        return mail

    def send(self, message: Message) -> None:
        where = f"email via {self.host}:{self.port}"
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(self.compose(message))
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{where}: login refused ({exc.smtp_code}): check [notify.email] user and the password"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{where}: {exc} (see [notify.email] security)") from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(f"{where}: {exc}") from None
