"""Images a job trains on: the records (images), the sources by data.name (sources: idx files,
a folder of one's own, a torchvision set), the network input's scaling (inputs), and the tensor
data module (datamodule); make data (getdata) and make folder-data (export)."""
