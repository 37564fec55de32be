"""POST /api/v1/ask: the same answers as the Ask page, as JSON."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from paypredict_project.api import ApiAuthMixin, error_response
from predictions.ask.services import MAX_QUESTION_LENGTH, AskInputError, ask_question


class AskApi(ApiAuthMixin, APIView):
    # Asking reads data only: a viewer may ask.
    required_permissions = {"read": "read:invoices", "write": "read:invoices"}

    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=MAX_QUESTION_LENGTH)
        conversation = serializers.CharField(
            required=False, allow_blank=True, max_length=64,
            help_text="id from an earlier answer, for follow-up questions",
        )  # fmt: skip

    class OutputSerializer(serializers.Serializer):
        answer = serializers.CharField(help_text="one sentence, written from the rows returned")
        columns = serializers.ListField(child=serializers.CharField())
        rows = serializers.ListField(
            child=serializers.ListField(child=serializers.JSONField()),
            help_text="at most 1000 rows; money and dates as strings",
        )
        truncated = serializers.BooleanField()
        sql = serializers.CharField(help_text="the query that produced the rows")
        path = serializers.ChoiceField(choices=["llm", "parser", "none"])
        conversation = serializers.CharField()
        refused = serializers.CharField(help_text="why a query was refused, else empty")
        suggestions = serializers.ListField(child=serializers.CharField())

    @extend_schema(tags=["ask"], request=InputSerializer, responses=OutputSerializer)
    def post(self, request):
        """Answer a plain-English question about the organization's ledger and predictions."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            answer = ask_question(
                organization=request.organization,
                user_id=request.user.id,
                question=data.validated_data["question"],
                conversation_id=data.validated_data.get("conversation") or None,
            )
        except AskInputError as error:
            return error_response(status.HTTP_400_BAD_REQUEST, "invalid", str(error))
        payload = {
            "answer": answer.answer,
            "columns": answer.columns,
            "rows": answer.json_rows(),
            "truncated": answer.truncated,
            "sql": answer.sql,
            "path": answer.path,
            "conversation": answer.conversation,
            "refused": answer.refused,
            "suggestions": answer.suggestions,
        }
        return Response(self.OutputSerializer(payload).data)
