import { Component, type ReactNode } from "react";
import { asAppError, type AppError } from "../api";
import { t } from "../i18n";
import { ErrorMessage } from "./ErrorMessage";

interface Props {
  children: ReactNode;
}

/** Keeps a crash in one screen from blanking the window. */
export class ErrorBoundary extends Component<Props, { error: AppError | null }> {
  override state: { error: AppError | null } = { error: null };

  static getDerivedStateFromError(e: unknown) {
    const err = asAppError(e instanceof Error ? { kind: "internal", message: e.message } : e);
    return { error: { ...err, hint: err.hint ?? t("error.screenCrashed") } };
  }

  override render() {
    if (this.state.error) {
      return (
        <div className="screen">
          <ErrorMessage error={this.state.error} onDismiss={() => this.setState({ error: null })} />
        </div>
      );
    }
    return this.props.children;
  }
}
