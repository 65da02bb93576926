# One multi-stage image definition for the three StreamMonitor services (and the streammon CLI used by the set-up
# jobs). Build context: the repository root. SERVICE_PROJECT: the project to publish; SERVICE_DLL: its entry assembly.
#   docker build -f docker/service.Dockerfile --build-arg SERVICE_PROJECT=services/scorer/StreamMonitor.Scorer.csproj \
#                --build-arg SERVICE_DLL=StreamMonitor.Scorer.dll -t streammon/scorer .
ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
ARG SERVICE_PROJECT
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig StreamMonitor.sln ./
COPY schemas/ schemas/
COPY src/ src/
COPY services/ services/
RUN dotnet publish "${SERVICE_PROJECT}" -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS runtime
ARG SERVICE_DLL
# curl serves the compose healthchecks (GET /healthz).
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
# Named volumes start as a copy of the image's folder (ownership included), so the non-root user can write them.
RUN mkdir -p /models /state && chown app:app /models /state
WORKDIR /app
COPY --from=build /app ./
COPY data/ /app/data/
ENV SERVICE_DLL=${SERVICE_DLL} \
    DOTNET_gcServer=0
USER app
ENTRYPOINT ["sh", "-c", "exec dotnet \"/app/$SERVICE_DLL\" \"$@\"", "--"]
