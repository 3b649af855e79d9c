"""The IoT windowed-KPI showcase: its data generator (:mod:`kernel_iot.generate`) and its step types."""
