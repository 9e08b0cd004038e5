from django.db import models


class TokenScope(models.TextChoices):
    PUSH = "push", "Push runs"
    READ = "read", "Read"
    OPERATE = "operate", "Operate (acknowledge, silence)"
    ADMIN = "admin", "Admin (rules, channels)"
