# The scorer on an NVIDIA GPU: the same code as docker/service.Dockerfile's scorer, built with the GPU flavour of ONNX
# Runtime (-p:OnnxRuntimeFlavor=Gpu: Microsoft.ML.OnnxRuntime.Gpu.Linux, whose CUDA provider needs CUDA 13 and cuDNN 9).
# Build context: the repository root. The host needs an NVIDIA driver for CUDA 13 and the NVIDIA Container Toolkit;
# docker-compose.yml's profile gpu reserves the device (docker compose --profile gpu up --build --scale scorer=0).
#   docker build -f docker/scorer-gpu.Dockerfile -t streammon/scorer-gpu .
ARG DOTNET_VERSION=10.0
# CUDA 13 runtime with cuDNN 9: the libraries libonnxruntime_providers_cuda.so links and loads.
ARG CUDA_IMAGE=nvidia/cuda:13.0.0-cudnn-runtime-ubuntu24.04

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
ARG SERVICE_PROJECT=services/scorer/StreamMonitor.Scorer.csproj
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig StreamMonitor.sln ./
COPY schemas/ schemas/
COPY src/ src/
COPY services/ services/
# Self-contained: the CUDA image has no .NET runtime, and this way it needs none.
RUN dotnet publish "${SERVICE_PROJECT}" -c Release -r linux-x64 --self-contained -p:OnnxRuntimeFlavor=Gpu -o /app --nologo

FROM ${CUDA_IMAGE} AS runtime
ARG SERVICE_DLL=StreamMonitor.Scorer.dll
# curl serves the compose healthcheck (GET /healthz).
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home app \
    && mkdir -p /models && chown app:app /models
WORKDIR /app
COPY --from=build /app ./
COPY data/ /app/data/
# ExecutionProvider=cuda: a container that cannot run CUDA exits at start-up with the reason instead of scoring on CPU.
ENV SERVICE_DLL=${SERVICE_DLL} \
    DOTNET_gcServer=0 \
    Scorer__ExecutionProvider=cuda
USER app
ENTRYPOINT ["sh", "-c", "exec \"/app/${SERVICE_DLL%.dll}\" \"$@\"", "--"]
